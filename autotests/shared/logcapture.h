// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef LOGCAPTURE_H
#define LOGCAPTURE_H

#include <QtCore/qlist.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qstring.h>

// Records what the library logs in its categories (and still prints it), so a test can
// check that a refused message produced exactly one log line and that no secret was
// logged.
class LogCapture
{
public:
    LogCapture() { s_previous = qInstallMessageHandler(&LogCapture::handle); }
    ~LogCapture() { qInstallMessageHandler(s_previous); }

    static QStringList linesIn(const char *category)
    {
        QStringList result;
        for (const auto &line : std::as_const(s_lines)) {
            if (line.first == QLatin1String(category))
                result.append(line.second);
        }
        return result;
    }
    static QStringList all()
    {
        QStringList result;
        for (const auto &line : std::as_const(s_lines))
            result.append(line.second);
        return result;
    }
    static void clear() { s_lines.clear(); }

private:
    static void handle(QtMsgType type, const QMessageLogContext &context, const QString &message)
    {
        s_lines.append(
                {QString::fromLatin1(context.category ? context.category : "default"), message});
        if (s_previous)
            s_previous(type, context, message);
    }

    static inline QtMessageHandler s_previous = nullptr;
    static inline QList<QPair<QString, QString>> s_lines;
};

#endif // LOGCAPTURE_H
