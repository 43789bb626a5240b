// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include <QtQuickTest/quicktest.h>

QUICK_TEST_MAIN(qstatesync)
