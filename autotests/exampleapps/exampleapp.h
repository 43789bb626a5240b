// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef EXAMPLEAPP_H
#define EXAMPLEAPP_H

#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncPresenceModel>

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qprocess.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qtemporarydir.h>
#include <QtTest/qtest.h>

// One of the example applications, run offscreen as a user would start it; killed when
// the test ends, whatever its outcome. Its output (standard output and the log) is kept
// and printed when the test failed.
class ExampleApp
{
public:
    ExampleApp(const QString &program, const QStringList &arguments)
    {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        // Qt wants a private runtime directory; an offscreen app needs no session.
        environment.insert(QStringLiteral("XDG_RUNTIME_DIR"), runtimeDirectory.path());
        process.setProcessEnvironment(environment);
        process.setProcessChannelMode(QProcess::MergedChannels);
        QObject::connect(&process, &QProcess::readyRead,
                         [this] { output += QString::fromLocal8Bit(process.readAll()); });
        process.start(program, arguments);
        process.waitForStarted(TestSupport::Timeout);
    }
    ~ExampleApp()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(TestSupport::Timeout);
        }
        if (QTest::currentTestFailed())
            qWarning().noquote() << "output of" << process.program() << ":\n" << output;
    }

    // Waits until the output matches pattern (or the app ended).
    QRegularExpressionMatch waitForOutput(const QRegularExpression &pattern)
    {
        const QDeadlineTimer deadline(TestSupport::Timeout);
        for (;;) {
            const QRegularExpressionMatch match = pattern.match(output);
            if (match.hasMatch() || deadline.hasExpired() || process.state() != QProcess::Running)
                return match;
            if (process.waitForReadyRead(int(deadline.remainingTime())))
                output += QString::fromLocal8Bit(process.readAll());
        }
    }

    // The URL that an app started with --serve prints once it listens.
    QUrl waitForServingUrl()
    {
        const auto match
                = waitForOutput(QRegularExpression(QStringLiteral("serving \\S+ on (ws://\\S+)")));
        return match.hasMatch() ? QUrl(match.captured(1)) : QUrl();
    }

    QTemporaryDir runtimeDirectory;
    QProcess process;
    QString output;
};

// The presence data that client sees for the peer named clientIdentifier.
inline QVariantMap presenceDataOf(const QStateSyncClient &client, const QString &clientIdentifier)
{
    const QStateSyncPresenceModel *presence = client.presence();
    for (int row = 0; row < presence->count(); ++row) {
        const QVariantMap peer = presence->get(row);
        if (peer.value(QStringLiteral("clientIdentifier")).toString() == clientIdentifier)
            return peer.value(QStringLiteral("presenceData")).toMap();
    }
    return QVariantMap();
}

#endif // EXAMPLEAPP_H
