// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNC_GLOBAL_H
#define QSTATESYNC_GLOBAL_H

#include <QtCore/qglobal.h>

#if defined(QSTATESYNC_STATIC)
#define Q_STATESYNC_EXPORT
#elif defined(QSTATESYNC_BUILD_LIBRARY)
#define Q_STATESYNC_EXPORT Q_DECL_EXPORT
#else
#define Q_STATESYNC_EXPORT Q_DECL_IMPORT
#endif

#endif // QSTATESYNC_GLOBAL_H
