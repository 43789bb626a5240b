// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Builds against the installed package and exercises it end to end: exit code 0 when a
// client's update came back from the server.

#include <QStateSync/QStateSyncer>
#include <QStateSyncClient>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qtimer.h>
#include <QtQml/qqmlcomponent.h>
#include <QtQml/qqmlengine.h>

#include <cstdio>
#include <memory>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);

    // The installed QML module loads (QML_IMPORT_PATH points at it).
    QQmlEngine engine;
    QQmlComponent component(&engine);
    component.setData("import QtQml\nimport QStateSync\n"
                      "QtObject { property StateSyncClient client: StateSyncClient {}\n"
                      "           property int unconnected: StateSyncClient.Unconnected }",
                      QUrl());
    std::unique_ptr<QObject> object(component.create());
    if (!object || !object->property("client").value<QObject *>()) {
        std::printf("consumer: the QML module did not load: %s\n",
                    qPrintable(component.errorString()));
        return 1;
    }
    std::printf("consumer: import QStateSync works\n");
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
