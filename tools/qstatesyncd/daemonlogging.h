// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef DAEMONLOGGING_H
#define DAEMONLOGGING_H

#include <QtCore/qloggingcategory.h>

// qstatesync.daemon: start, joins and leaves, refusals by tokens and access rules,
// shutdown. qstatesync.hooks: the script hooks' errors and timeouts.
Q_DECLARE_LOGGING_CATEGORY(lcDaemon)
Q_DECLARE_LOGGING_CATEGORY(lcHooks)

#endif // DAEMONLOGGING_H
