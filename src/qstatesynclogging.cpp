// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynclogging_p.h"

// Info and above are on by default: a server logs one line per refused connection or
// message, which is what an operator wants to see.
Q_LOGGING_CATEGORY(lcStateSyncTransport, "qstatesync.transport", QtInfoMsg)
Q_LOGGING_CATEGORY(lcStateSyncServer, "qstatesync.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcStateSyncClient, "qstatesync.client", QtWarningMsg)
Q_LOGGING_CATEGORY(lcStateSyncStorage, "qstatesync.storage", QtInfoMsg)

QString loggable(const QString &text)
{
    QString result;
    result.reserve(text.size());
    for (const QChar character : text) {
        if (character.unicode() < 0x20 || character.unicode() == 0x7f
            || character.category() == QChar::Other_Format) {
            result += QStringLiteral("\\u%1").arg(character.unicode(), 4, 16, QLatin1Char('0'));
        } else {
            result += character;
        }
    }
    return result;
}
