// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCCLIENT_P_H
#define QSTATESYNCCLIENT_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncclient.h"
#include "qstatesyncprotocol_p.h"

#include <QtCore/qset.h>
#include <QtWebSockets/qwebsocket.h>

class QStateSyncStateMap;
class QStateSyncPresenceModel;

class QStateSyncClientPrivate
{
public:
    explicit QStateSyncClientPrivate(QStateSyncClient *q);
    ~QStateSyncClientPrivate();

    void open();
    void close();
    void setActive(bool newActive);
    // Opens from the event loop, once every property set at creation time is in place.
    void scheduleOpen();
    // Settings of the connection changed: an active client reconnects with them.
    void reconnectIfActive();
    void join(const QString &stateIdentifier);
    qint64 sendChange(int type, const QJsonObject &changes);
    void writeFromQml(const QString &key, const QVariant &value);

    void setStatus(QStateSyncClient::Status status);
    void setError(QStateSync::Error error, const QString &message);
    void setDesiredState(const QString &stateIdentifier);

    struct Listener
    {
        QString identifier;
        QStateSyncClient::StateUpdateListener callback;
        QStringList properties;
    };

    QStateSyncClient *const q;
    QWebSocket *socket;
    QUrl url;
    QString clientIdentifier;
    QString accessToken;
    QSslConfiguration sslConfiguration;
    QStateSyncClient::ProtocolVersion requestedProtocol = QStateSyncClient::ProtocolV2;
    QStateSyncClient::ProtocolVersion protocol = QStateSyncClient::ProtocolV2;
    QStateSyncClient::Status status = QStateSyncClient::Unconnected;
    bool active = false;
    bool openScheduled = false;
    QStateSync::Error error = QStateSync::Error::NoError;
    QString errorString;

    // The state asked for (property stateIdentifier) and the one the server confirmed.
    QString desiredState;
    QString joinedState;
    // The state whose value the client holds, kept across leaving and reconnecting so a
    // rejoin tells listeners only what changed meanwhile.
    QString valueState;
    bool resyncing = false;

    QJsonObject value;
    qint64 version = -1;
    QStateSync::MergeMode mergeMode = QStateSync::MergeMode::Shallow;
    QStateSyncStateMap *map;
    QStateSyncPresenceModel *presence;
    QVariantMap presenceData;
    QList<Listener> listeners;
    QSet<qint64> pendingRequests;
    qint64 nextRequestId = 1;
    bool errorReportedForAttempt = false;
    bool attemptConnected = false;
    bool closing = false;

private:
    void onConnected();
    void onDisconnected();
    void onSocketError(QAbstractSocket::SocketError socketError);
    void onTextMessage(const QString &text);

    void handleEstablished(const QJsonObject &data);
    void handleChange(int type, const QJsonObject &data);
    void handleJoinError(const QJsonObject &data);
    void handleUpdateFailed(const QJsonObject &data);
    void handleRemoved(const QJsonObject &data);
    void handleLeft(const QJsonObject &data);
    void handlePresence(const QJsonObject &data);
    void resync();
    void failPending(QStateSync::Error code, const QString &message);
    static QString leftBeforeAcknowledgement();
    void replaceValue(const QJsonObject &newValue, const QStringList &touched);
    bool versionInSequence(const QJsonObject &data);
    static QStateSync::Error errorOf(const QJsonObject &data, QStateSync::Error fallback);
};

#endif // QSTATESYNCCLIENT_P_H
