// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

// Code quoted by the documentation. It is compiled with the tests, so it stays true.

#include <QStateSyncClient>

#include <QtCore/qdebug.h>

void client()
{
    //! [client]
    auto *client
            = new QStateSyncClient(QUrl(QStringLiteral("ws://localhost:5000")),
                                   QStringLiteral("userIdentifier"), QStringLiteral("accessToken"));
    QObject::connect(client, &QStateSyncClient::joined, client,
                     [](const QString &, const QVariantMap &state) { qDebug() << state; });
    QObject::connect(client, &QStateSyncClient::errorOccurred, client,
                     [](QStateSync::Error error, const QString &message) {
                         qWarning() << QStateSync::errorCode(error) << message;
                     });
    client->addStateUpdateListener(
            QStringLiteral("chat"),
            [](const QVariantMap &updates, const QVariantMap &previousValues) {
                qDebug() << "now" << updates << "was" << previousValues;
            },
            {QStringLiteral("chatMessages")});
    client->connectToState(QStringLiteral("myGroupChat"));

    // Once joined:
    client->updateState(QVariantMap{{QStringLiteral("title"), QStringLiteral("Friday")}});
    client->append(QStringLiteral("chatMessages"),
                   QVariantMap{{QStringLiteral("content"), QStringLiteral("Hello")}});
    //! [client]
}

void nested(QStateSyncClient *client)
{
    //! [nested]
    // {"user": {"name": "Ada", "age": 36}} becomes {"user": {"name": "Grace", "age": 36}}
    client->setValueAt({QStringLiteral("user"), QStringLiteral("name")}, QStringLiteral("Grace"));
    // Array elements are addressed by index.
    client->setValueAt({QStringLiteral("checklist"), QStringLiteral("0"), QStringLiteral("done")},
                       true);
    //! [nested]
}
