// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCLOGGING_P_H
#define QSTATESYNCLOGGING_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include <QtCore/qloggingcategory.h>

Q_DECLARE_LOGGING_CATEGORY(lcStateSyncTransport)
Q_DECLARE_LOGGING_CATEGORY(lcStateSyncServer)
Q_DECLARE_LOGGING_CATEGORY(lcStateSyncClient)
Q_DECLARE_LOGGING_CATEGORY(lcStateSyncStorage)

// Text a peer chose (identifiers), made safe for a log line: control characters such as
// newlines become escapes, so a peer cannot forge log lines.
QString loggable(const QString &text);

#endif // QSTATESYNCLOGGING_P_H
