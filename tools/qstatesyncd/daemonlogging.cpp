// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "daemonlogging.h"

Q_LOGGING_CATEGORY(lcDaemon, "qstatesync.daemon", QtInfoMsg)
Q_LOGGING_CATEGORY(lcHooks, "qstatesync.hooks", QtInfoMsg)
