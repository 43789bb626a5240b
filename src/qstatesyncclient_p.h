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
#include "qstatesynclocalcopy_p.h"
#include "qstatesyncprotocol_p.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qhash.h>
#include <QtCore/qtimer.h>
#include <QtWebSockets/qwebsocket.h>

#include <functional>

class QStateSyncStateMap;
class QStateSyncPresenceModel;

// The client's inner workings, in two files: qstatesyncclientconnection.cpp opens the
// WebSocket, keeps it alive (heartbeat) and reconnects (backoff, endpoints);
// qstatesyncclient_p.cpp speaks the protocol and keeps the copy of the state.
class QStateSyncClientPrivate
{
public:
    explicit QStateSyncClientPrivate(QStateSyncClient *q);
    ~QStateSyncClientPrivate();

    // Connection (qstatesyncclientconnection.cpp).
    void open();
    void close();
    void setActive(bool newActive);
    // Opens from the event loop, once every property set at creation time is in place.
    void scheduleOpen();
    // Settings of the connection changed: an active client reconnects with them.
    void reconnectIfActive();
    // Drops the connection to open it again: what was sent fails with ConnectionLost,
    // the queue stays.
    void takeDown(const QString &inFlightMessage);
    // The connection ends (closed, lost or taken down): timers stop, membership goes, and
    // generation moves on so that handlers running now stop.
    void endSession();
    // Not in a state any more: no joined state, no resync, no presence.
    void forgetMembership();
    QUrl currentUrl() const;
    void setReconnectAttempt(int attempt);

    // Protocol and copy (qstatesyncclient_p.cpp).
    void join(const QString &stateIdentifier);
    qint64 sendChange(int type, const QJsonObject &changes);
    void writeFromQml(const QString &key, const QVariant &value);
    void sendText(const QByteArray &message);
    void setOptimistic(bool optimistic);
    int queuedCount() const;
    // Fails the operations that will not be sent or acknowledged now: their identifier
    // matching, all when empty; sentOnly keeps the queued ones.
    void failPending(QStateSync::Error code, const QString &message, const QString &state,
                     bool sentOnly);
    void failAllPending(QStateSync::Error code, const QString &message);
    void failWhere(const std::function<bool(const QStateSyncLocalCopy::Operation &)> &predicate,
                   QStateSync::Error code, const QString &message);

    void setStatus(QStateSyncClient::Status status);
    void setError(QStateSync::Error error, const QString &message);
    void reportError(QStateSync::Error error, const QString &message);
    void setDesiredState(const QString &stateIdentifier);

    struct Listener
    {
        QString identifier;
        QStateSyncClient::StateUpdateListener callback;
        QStringList properties;
    };

    QStateSyncClient *const q;
    QWebSocket *socket;
    QList<QUrl> urls;
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

    // Reconnection and heartbeat.
    bool autoReconnect = true;
    int reconnectDelay = 500;
    int maxReconnectDelay = 30000;
    int heartbeatInterval = 15000;
    int reconnectAttempt = 0;
    // Which endpoint the current attempt uses, where the current round of endpoints began,
    // and how many rounds failed (the backoff's exponent).
    qsizetype endpointIndex = 0;
    qsizetype roundStart = 0;
    int failedRounds = 0;
    QTimer *reconnectTimer;
    QTimer *heartbeatTimer;
    QTimer *attemptTimer;
    int connectTimeout = 10000;
    QElapsedTimer connectedSince;
    // Counts close(), losses and reconnections: a handler that emitted a signal checks it
    // to see whether a slot closed or moved the client meanwhile.
    quint64 generation = 0;
    bool heardSinceLastPing = true;
    QString lossReason;

    // The state asked for (property stateIdentifier) and the one the server confirmed.
    QString desiredState;
    QString joinedState;
    bool resyncing = false;
    // A resync was needed while a join to another state was on its way: it is sent if
    // that join fails and the client stays where it was.
    bool resyncDeferred = false;
    // The state a resync asked for: an error answering it, once the client left that
    // state (it was removed meanwhile), is not an error of the application's.
    QString resyncAskedFor;

    QStateSyncLocalCopy copy;
    // v1: the whole arrays this client sent for its appends, until the server sends the
    // key again (the base of the next append to it).
    QHash<QString, QJsonArray> v1SentArrays;
    QStateSyncStateMap *map;
    QStateSyncPresenceModel *presence;
    QVariantMap presenceData;
    QList<Listener> listeners;
    bool optimisticUpdates = true;
    int maxQueuedUpdates = 1000;
    qint64 nextRequestId = 1;
    bool errorReportedForAttempt = false;
    bool attemptConnected = false;
    bool closing = false;

private:
    // Connection (qstatesyncclientconnection.cpp).
    void startAttempt(QStateSyncClient::Status attemptStatus);
    void onConnected();
    void onDisconnected();
    void onSocketError(QAbstractSocket::SocketError socketError);
    void onHeartbeat();
    void attemptFailed(QStateSync::Error code, const QString &message);
    void connectionLost();
    void scheduleReconnect(bool afterFailure);
    bool mayReconnect() const;

    // Protocol and copy (qstatesyncclient_p.cpp).
    void onTextMessage(const QString &text);
    void handleEstablished(const QJsonObject &data);
    void handleChange(int type, const QJsonObject &data);
    void handleJoinError(const QJsonObject &data);
    void handleUpdateFailed(const QJsonObject &data);
    void handleRemoved(const QJsonObject &data);
    void handleLeft(const QJsonObject &data);
    void handlePresence(const QJsonObject &data);
    void resync();
    QList<qint64> ownRequestIds(const QJsonObject &data);
    void flushQueue();
    QByteArray encodeOperation(const QStateSyncLocalCopy::Operation &operation, bool *failed);
    static QString leftBeforeAcknowledgement();
    void notify(const QStateSyncLocalCopy::Diff &diff);
    void showNewState();
    bool versionInSequence(const QJsonObject &data);
    static QStateSync::Error errorOf(const QJsonObject &data, QStateSync::Error fallback);
};

#endif // QSTATESYNCCLIENT_P_H
