// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Builds against the installed package and exercises it end to end: exit code 0 when a
// client's update came back from the server.

#include <QStateSync/QStateSyncer>
#include <QStateSyncClient>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qtimer.h>

#include <cstdio>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QStateSyncer server;
    if (!server.listen(QHostAddress::LocalHost, 0))
        return 1;
    QStateSyncStateOptions options;
    options.setIdentifier(QStringLiteral("package"));
    server.createState(options);

    QStateSyncClient client(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())),
                            QStringLiteral("consumer"));
    QObject::connect(&client, &QStateSyncClient::joined, &client, [&] {
        client.updateState(QVariantMap{{QStringLiteral("installed"), true}});
    });
    QObject::connect(&client, &QStateSyncClient::updateAcknowledged, &app, [&] {
        const bool ok = server.valueOfState(QStringLiteral("package"))
                                ->value(QStringLiteral("installed"))
                                .toBool();
        std::printf("consumer: update acknowledged, server value %s\n", ok ? "ok" : "wrong");
        app.exit(ok ? 0 : 1);
    });
    QTimer::singleShot(30000, &app, [&] {
        std::printf("consumer: no acknowledgement\n");
        app.exit(1);
    });
    client.connectToState(QStringLiteral("package"));
    return app.exec();
}
