// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncer_p.h"
#include "qstatesyncstatethreads_p.h"
#include "qstatesyncauthorizationrequest.h"
#include "qstatesyncconnection_p.h"
#include "qstatesynciohub_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncserverstate_p.h"
#include "qstatesyncsharedstorage_p.h"
#include "qstatesyncstorage_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qmetaobject.h>
#include <QtCore/quuid.h>
#include <QtWebSockets/qwebsocket.h>

#include <algorithm>
#include <limits>

using namespace QStateSyncProtocol;
using QStateSync::Error;

QStateSyncerPrivate::QStateSyncerPrivate(QStateSyncer *q)
    : q(q)
    , transport(new QStateSyncTransport(q))
{
    transport->setAuthorizer([this](QStateSyncAuthorizationRequest *request) {
        Q_EMIT this->q->authorizationRequested(request);
    });
    transport->setHttpHandler(
            [this](QStateSyncHttpRequest *request) { Q_EMIT this->q->httpRequested(request); });
    transport->setClientCounter([this] { return int(connections.size()); });
    QObject::connect(transport, &QStateSyncTransport::clientConnected, q,
                     [this](QWebSocket *webSocket, QTcpSocket *tcpSocket,
                            const QStateSyncIdentity &identity) {
                         addConnection(
                                 std::make_unique<QStateSyncWebSocketLink>(webSocket, tcpSocket),
                                 identity);
                     });
    QObject::connect(transport, &QStateSyncTransport::clientUpgraded, q,
                     [this](int fd, const QByteArray &response, const QByteArray &early,
                            const QHostAddress &address, quint16 port, bool v2,
                            const QStateSyncIdentity &identity) {
                         addUpgradedConnection(fd, response, early, address, port, v2, identity);
                     });
    // A child of the server, so that it moves with it to another thread.
    heartbeat = new QTimer(q);
    QObject::connect(heartbeat, &QTimer::timeout, q, [this] { checkHeartbeats(); });
    restartHeartbeat();
}

QStateSyncerPrivate::~QStateSyncerPrivate()
{
    // Everything applied is stored before the server goes; nothing is shown any more.
    heldChanges.clear();
    // Batches still running are dropped: their senders were not answered.
    stateWorkers.reset();
    detachStorage();
    // Children of q outlive this object by a moment; take down everything that calls back
    // into it first.
    delete heartbeat;
    delete transport;
    // Whoever waits for a request's finished() hears of it before the server goes.
    for (QStateSyncConnection *connection : std::as_const(connections)) {
        connection->markGone();
        if (QStateSyncJoinRequest *pending = std::exchange(connection->pendingJoin, nullptr))
            pending->cancel();
    }
    for (const auto &state : std::as_const(states)) {
        state->removed = true;
        if (QStateSyncUpdateRequest *waiting = std::exchange(state->waitingFor, nullptr))
            waiting->cancel();
    }
    const QList<QStateSyncConnection *> open = std::exchange(connections, {});
    qDeleteAll(open);
    states.clear();
    // Last: the connections' links tell it that they go.
    delete ioHub;
}

void QStateSyncerPrivate::addConnection(std::unique_ptr<QStateSyncLink> link,
                                        const QStateSyncIdentity &identity)
{
    auto *connection
            = new QStateSyncConnection(this, std::move(link), identity, nextConnectionId++);
    connection->setParent(q);
    connections.append(connection);
    qCDebug(lcStateSyncServer).noquote()
            << "client" << connection->peerDescription() << "connected, protocol"
            << (connection->isV2() ? "v2" : "v1");
    Q_EMIT q->clientCountChanged();
}

void QStateSyncerPrivate::restartHeartbeat()
{
    heartbeat->stop();
    if (limits.heartbeatIntervalMs <= 0)
        return;
    // Whatever came before, every connection has a whole interval to answer its first ping.
    for (QStateSyncConnection *connection : std::as_const(connections))
        connection->markAlive();
    heartbeat->start(limits.heartbeatIntervalMs);
}

void QStateSyncerPrivate::checkHeartbeats()
{
    // A connection silent since the last tick did not answer the ping sent then: it has
    // shown no sign of life for a whole interval. Dropping it may run handlers that close
    // others, so the list is walked as it was.
    const QList<QPointer<QStateSyncConnection>> open(connections.cbegin(), connections.cend());
    for (const QPointer<QStateSyncConnection> &connection : open) {
        if (!connection || connection->isGone())
            continue;
        if (connection->takeSignOfLife()) {
            connection->ping();
            continue;
        }
        qCInfo(lcStateSyncServer).noquote().nospace()
                << "client " << connection->peerDescription() << " showed no sign of life for "
                << limits.heartbeatIntervalMs << " ms; dropping it";
        connection->drop();
    }
}

void QStateSyncerPrivate::handleDisconnected(QStateSyncConnection *connection)
{
    connection->markGone();
    if (connection->pendingJoin)
        connection->pendingJoin->cancel();
    if (!connection->joinedState().isEmpty())
        depart(connection, true);
    connections.removeOne(connection);
    connection->deleteLater();
    qCDebug(lcStateSyncServer).noquote()
            << "client" << connection->peerDescription() << "disconnected";
    Q_EMIT q->clientCountChanged();
}

void QStateSyncerPrivate::refuse(QStateSyncConnection *connection, const ClientMessage &message)
{
    ++counters.messagesRefused;
    quint64 heldBack = 0;
    if (connection->refusalLog.allow(&heldBack)) {
        qCInfo(lcStateSyncServer).noquote().nospace()
                << "refused a message from " << connection->peerDescription() << ": "
                << QStateSync::errorCode(message.error) << ": " << loggable(message.errorMessage)
                << (heldBack ? QStringLiteral(" (and %1 more since the last line)").arg(heldBack)
                             : QString());
    }
    connection->send(
            encodeError(message.replyType, message.error, message.errorMessage, message.requestId));
}

void QStateSyncerPrivate::handleMessage(QStateSyncConnection *connection, const QByteArray &utf8)
{
    handleMessage(connection, decodeClientMessage(QByteArrayView(utf8), maxNestingDepth),
                  utf8.size());
}

void QStateSyncerPrivate::handleMessage(QStateSyncConnection *connection,
                                        const ClientMessage &message, qint64 size)
{
    ++counters.messagesReceived;
    counters.bytesReceived += quint64(size);
    if (!message.isValid()) {
        refuse(connection, message);
        return;
    }
    switch (message.type) {
    case MessageType::ConnectToState:
        handleJoin(connection, message.stateIdentifier);
        break;
    case MessageType::UpdateState:
    case MessageType::AppendToState:
        handleChange(connection, message);
        break;
    case MessageType::LeaveState:
        handleLeave(connection);
        break;
    case MessageType::SetPresence:
        handlePresence(connection, message.presence);
        break;
    default:
        Q_UNREACHABLE();
    }
}

void QStateSyncerPrivate::handleBinaryMessage(QStateSyncConnection *connection)
{
    ++counters.messagesReceived;
    ClientMessage message;
    message.error = Error::InvalidMessage;
    message.errorMessage = QStringLiteral("Binary frames are not supported: send JSON text");
    message.replyType = MessageType::ProtocolError;
    refuse(connection, message);
}

bool QStateSyncerPrivate::hasJoinHandler() const
{
    return q->isSignalConnected(QMetaMethod::fromSignal(&QStateSyncer::joinRequested));
}

bool QStateSyncerPrivate::hasUpdateHandler() const
{
    return q->isSignalConnected(QMetaMethod::fromSignal(&QStateSyncer::updateRequested));
}

void QStateSyncerPrivate::handleJoin(QStateSyncConnection *connection,
                                     const QString &stateIdentifier)
{
    if (QStateSyncJoinRequest *superseded = connection->pendingJoin) {
        connection->pendingJoin = nullptr;
        superseded->cancel();
    }
    connection->awaitedState.clear();
    const auto state = states.value(stateIdentifier);
    if (!state) {
        qCInfo(lcStateSyncServer).noquote()
                << "client" << connection->peerDescription() << "asked to join unknown state"
                << loggable(stateIdentifier);
        sendStateNotFound(connection, stateIdentifier);
        return;
    }
    if (state->restored) {
        // Its join filter and hooks are the application's code, which comes back with
        // createState(): without them nobody may join, and nobody learns it exists.
        qCInfo(lcStateSyncServer).noquote()
                << "client" << connection->peerDescription() << "asked to join state"
                << loggable(stateIdentifier)
                << "which was brought back from storage but not created again: refused";
        sendStateNotFound(connection, stateIdentifier);
        return;
    }
    if (sharedStorage() && !state->synced) {
        // In a cluster: joined once this node has the state's current value.
        qCDebug(lcStateSyncStorage).noquote()
                << "the join of" << connection->peerDescription() << "waits until state"
                << loggable(stateIdentifier) << "is read from the cluster's storage";
        connection->awaitedState = stateIdentifier;
        state->waitingJoins.append(connection);
        followState(*state);
        return;
    }
    // A client already joined asks again to resync: it was let in, so it needs no new
    // permission (a refusal now would leave it joined on the server but not in its copy).
    if (connection->joinedState() == stateIdentifier) {
        finishJoin(connection, stateIdentifier, nullptr);
        return;
    }
    if (const auto filter = state->options.allowConnectingClient();
        filter && !filter(connection->clientInformation())) {
        if (connection->isGone())
            return; // the filter closed the connection (or the server)
        qCInfo(lcStateSyncServer).noquote() << "client" << connection->peerDescription()
                                            << "may not join state" << loggable(stateIdentifier);
        sendJoinRefused(connection, stateIdentifier);
        return;
    }
    if (connection->isGone())
        return;
    if (!hasJoinHandler()) {
        finishJoin(connection, stateIdentifier, nullptr);
        return;
    }

    auto *request = new QStateSyncJoinRequest(stateIdentifier, connection->clientIdentifier(),
                                              connection->clientInformation(),
                                              connection->defaultPublicInformation(), q);
    connection->pendingJoin = request;
    const QPointer<QStateSyncConnection> guard(connection);
    // The join was asked of this state object: one created later under the same name
    // (while the hook deferred) has its own rules and is not joined this way.
    const std::weak_ptr<QStateSyncServerState> askedFor = state;
    QObject::connect(request, &QStateSyncRequest::finished, q,
                     [this, guard, stateIdentifier, request, askedFor] {
                         request->deleteLater();
                         if (!guard || guard->pendingJoin != request)
                             return;
                         guard->pendingJoin = nullptr;
                         const auto current = states.value(stateIdentifier);
                         if (request->status() == QStateSyncRequest::Accepted
                             && current != askedFor.lock()) {
                             sendStateNotFound(guard, stateIdentifier);
                             return;
                         }
                         finishJoin(guard, stateIdentifier, request);
                     });
    Q_EMIT q->joinRequested(request);
    if (request->status() == QStateSyncRequest::Pending)
        request->accept();
}

void QStateSyncerPrivate::sendStateNotFound(QStateSyncConnection *connection,
                                            const QString &stateIdentifier)
{
    // Unless the server reveals which states exist, the answer is the same, to the byte,
    // as that of a refused join: a client that may not join learns nothing from it.
    const QString message = limits.revealStateExistence
            ? QStringLiteral("State %1 does not exist").arg(stateIdentifier)
            : QStringLiteral("State %1 does not exist or may not be joined").arg(stateIdentifier);
    connection->send(encodeError(MessageType::StateConnectionError, Error::StateNotFound, message,
                                 QJsonValue::Undefined, stateIdentifier));
}

void QStateSyncerPrivate::sendJoinRefused(QStateSyncConnection *connection,
                                          const QString &stateIdentifier,
                                          const QString &hookMessage)
{
    // A hook's own message is the application's choice: it is sent as given.
    if (hookMessage.isEmpty() && !limits.revealStateExistence) {
        sendStateNotFound(connection, stateIdentifier);
        return;
    }
    connection->send(encodeError(
            MessageType::StateConnectionError, Error::JoinRefused,
            hookMessage.isEmpty() ? QStringLiteral("Client is not allowed to connect to state")
                                  : hookMessage,
            QJsonValue::Undefined, stateIdentifier));
}

bool QStateSyncerPrivate::joinFits(QStateSyncConnection *connection,
                                   const QStateSyncServerState &state)
{
    if (limits.maxClientsPerState <= 0 || state.clients.size() < limits.maxClientsPerState)
        return true;
    ++counters.messagesRefused;
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "client " << connection->peerDescription() << " may not join state "
            << loggable(state.identifier) << ": state_full: it has " << state.clients.size()
            << " clients";
    connection->send(encodeError(
            MessageType::StateConnectionError, Error::StateFull,
            QStringLiteral("State %1 already has %2 clients, as many as the server allows")
                    .arg(state.identifier)
                    .arg(state.clients.size()),
            QJsonValue::Undefined, state.identifier));
    return false;
}

void QStateSyncerPrivate::finishJoin(QStateSyncConnection *connection,
                                     const QString &stateIdentifier, QStateSyncJoinRequest *request)
{
    if (connection->isGone())
        return;
    if (request && request->status() == QStateSyncRequest::Cancelled)
        return;
    if (request && request->status() == QStateSyncRequest::Rejected) {
        qCInfo(lcStateSyncServer).noquote() << "client" << connection->peerDescription()
                                            << "was refused state" << loggable(stateIdentifier);
        sendJoinRefused(connection, stateIdentifier, request->rejectionMessage());
        return;
    }
    // The state may have gone while the hook deferred: the client then stays where it was.
    const auto state = states.value(stateIdentifier);
    if (!state) {
        sendStateNotFound(connection, stateIdentifier);
        return;
    }
    const bool rejoin = connection->joinedState() == stateIdentifier;
    if (!rejoin && !joinFits(connection, *state))
        return;
    if (!rejoin && !connection->joinedState().isEmpty()) {
        depart(connection, true);
        // Leaving emitted clientLeft and may have run selfDestruct: a handler may have
        // closed the connection, or removed the state asked for.
        if (connection->isGone())
            return;
        if (state->removed) {
            sendStateNotFound(connection, stateIdentifier);
            return;
        }
    }
    if (!rejoin) {
        state->clients.append(connection);
        connection->setJoinedState(stateIdentifier);
        if (sharedStorage() && state->options.selfDestruct())
            countClusterClients(*state);
        connection->publicInformation = QJsonObject::fromVariantMap(
                request ? request->publicInformation() : connection->defaultPublicInformation());
        connection->presenceData = QJsonObject();
    }
    connection->sendEstablished(*state);
    if (!rejoin) {
        state->broadcastPresence(PresenceEvent::Joined, connection->presenceEntry(), connection);
        Q_EMIT q->clientJoined(stateIdentifier, connection->clientIdentifier(),
                               connection->clientInformation());
    }
}

void QStateSyncerPrivate::handlePresence(QStateSyncConnection *connection,
                                         const QJsonObject &presence)
{
    const auto state = states.value(connection->joinedState());
    if (!state) {
        ClientMessage message;
        message.error = Error::NotJoined;
        message.errorMessage = QStringLiteral("Presence needs a joined state");
        message.replyType = MessageType::ProtocolError;
        refuse(connection, message);
        return;
    }
    connection->presenceData = presence;
    state->broadcastPresence(PresenceEvent::Changed, connection->presenceEntry());
}

void QStateSyncerPrivate::handleLeave(QStateSyncConnection *connection)
{
    // A join waiting for a cluster's state to be read is withdrawn like one waiting for its
    // hook.
    QString cancelledJoin = std::exchange(connection->awaitedState, QString());
    if (QStateSyncJoinRequest *pending = connection->pendingJoin) {
        connection->pendingJoin = nullptr;
        cancelledJoin = pending->stateIdentifier();
        pending->cancel();
    }
    const QString stateIdentifier = connection->joinedState();
    if (stateIdentifier.isEmpty() && !cancelledJoin.isEmpty()) {
        // The leave withdrew a join still waiting for its hook: that is its answer.
        connection->send(encodeStateLeft(cancelledJoin));
        return;
    }
    if (stateIdentifier.isEmpty()) {
        ClientMessage message;
        message.error = Error::NotJoined;
        message.errorMessage = QStringLiteral("Client is not connected to a state");
        message.replyType = MessageType::ProtocolError;
        refuse(connection, message);
        return;
    }
    connection->send(encodeStateLeft(stateIdentifier));
    depart(connection, true);
}

void QStateSyncerPrivate::depart(QStateSyncConnection *connection, bool askSelfDestruct)
{
    const QString stateIdentifier = connection->joinedState();
    connection->setJoinedState(QString());
    const auto state = states.value(stateIdentifier);
    if (!state)
        return;
    state->clients.removeOne(connection);
    state->broadcastPresence(PresenceEvent::Left, connection->presenceEntry());
    connection->publicInformation = QJsonObject();
    connection->presenceData = QJsonObject();
    Q_EMIT q->clientLeft(stateIdentifier, connection->clientIdentifier(),
                         connection->clientInformation());
    if (!askSelfDestruct || state->removed) {
        unfollowIfIdle(*state);
        return;
    }
    const auto selfDestruct = state->options.selfDestruct();
    // In a cluster the clients of every node count.
    const int clients = selfDestruct ? countClusterClients(*state) : 0;
    if (selfDestruct && clients >= 0 && selfDestruct(clients, state->createdAt.toLocalTime())) {
        qCInfo(lcStateSyncServer).noquote()
                << "state" << loggable(stateIdentifier) << "self-destructs";
        removeState(stateIdentifier, QStateSync::RemovalReason::SelfDestruct);
        return;
    }
    unfollowIfIdle(*state);
}

QString QStateSyncerPrivate::createState(const QStateSyncStateOptions &options)
{
    QString identifier = options.identifier();
    if (identifier.isEmpty())
        identifier = QUuid::createUuid().toString(QUuid::WithoutBraces);
    if (const auto existing = states.value(identifier)) {
        if (!existing->restored)
            return QString();
        // Brought back by the storage: the application's options (hooks, filters, merge
        // mode) take effect; the stored value, version and ttl deadline stay.
        if (QStateSyncSharedStorage *shared = sharedStorage()) {
            // In a cluster every node merges with the mode the state was created with.
            QStateSyncStoredState current;
            if (!existing->synced && !shared->readState(identifier, &current))
                return QString();
            const QStateSync::MergeMode clusterMode
                    = existing->synced ? existing->options.mergeMode() : current.mergeMode;
            existing->restored = false;
            existing->options = options;
            existing->options.setMergeMode(clusterMode);
            if (!existing->synced) {
                existing->replaceValue(current.value);
                existing->version = current.version;
            }
            if (options.mergeMode() != existing->options.mergeMode())
                qCWarning(lcStateSyncStorage).noquote()
                        << "state" << loggable(identifier) << "keeps the merge mode the cluster"
                        << "created it with, not the one asked for";
            return identifier;
        }
        existing->restored = false;
        const bool modeChanged = existing->options.mergeMode() != options.mergeMode();
        existing->options = options;
        if (modeChanged)
            storeState(*existing);
        return identifier;
    }
    auto state = std::make_shared<QStateSyncServerState>(identifier, options);
    QStateSyncSharedStorage *shared = sharedStorage();
    if (options.ttl().count() > 0) {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const qint64 ttl = options.ttl().count();
        state->ttlDeadline = ttl > std::numeric_limits<qint64>::max() - now
                ? std::numeric_limits<qint64>::max()
                : now + ttl;
        if (!shared)
            startTtl(state);
    }
    if (shared && !createSharedState(*state, shared))
        return QString();
    if (shared)
        startTtl(state);
    states.insert(identifier, state);
    storeState(*state);
    Q_EMIT q->stateCreated(identifier);
    Q_EMIT q->stateIdentifiersChanged();
    return identifier;
}

void QStateSyncerPrivate::startTtl(const std::shared_ptr<QStateSyncServerState> &state)
{
    if (state->ttlTimer) {
        state->ttlTimer->stop();
        state->ttlTimer->deleteLater();
    }
    if (state->ttlDeadline <= 0)
        return;
    // QTimer counts in int milliseconds (24.8 days): a longer life is waited for in steps,
    // up to a deadline.
    const qint64 remaining
            = std::max<qint64>(state->ttlDeadline - QDateTime::currentMSecsSinceEpoch(), 0);
    const QDeadlineTimer expiry(std::chrono::milliseconds(remaining), Qt::PreciseTimer);
    state->ttlTimer = new QTimer(q);
    state->ttlTimer->setSingleShot(true);
    state->ttlTimer->setTimerType(Qt::PreciseTimer);
    const auto nextStep = [expiry] {
        return int(std::clamp<qint64>(expiry.remainingTime(), 0, std::numeric_limits<int>::max()));
    };
    const QString identifier = state->identifier;
    QObject::connect(state->ttlTimer, &QTimer::timeout, q,
                     [this, identifier, expiry, nextStep, timer = state->ttlTimer] {
                         if (!expiry.hasExpired()) {
                             timer->start(nextStep());
                             return;
                         }
                         qCInfo(lcStateSyncServer).noquote()
                                 << "state" << loggable(identifier) << "expired";
                         removeState(identifier, QStateSync::RemovalReason::Ttl);
                     });
    state->ttlTimer->start(nextStep());
}

bool QStateSyncerPrivate::createSharedState(QStateSyncServerState &state,
                                            QStateSyncSharedStorage *shared)
{
    QStateSyncStoredState existing;
    switch (shared->createState(storedForm(state), &existing)) {
    case QStateSyncSharedStorage::CreateResult::Failed:
        return false;
    case QStateSyncSharedStorage::CreateResult::Created:
        return true;
    case QStateSyncSharedStorage::CreateResult::Exists:
        break;
    }
    // Another node created it first: this one takes it as it is, with its own hooks, and
    // merges with the mode it was created with, as every node does.
    if (existing.mergeMode != state.options.mergeMode()) {
        qCWarning(lcStateSyncStorage).noquote()
                << "state" << loggable(state.identifier) << "keeps the merge mode the cluster"
                << "created it with, not the one asked for";
        state.options.setMergeMode(existing.mergeMode);
    }
    state.replaceValue(existing.value);
    state.version = existing.version;
    state.createdAt = QDateTime::fromMSecsSinceEpoch(existing.createdAt, Qt::UTC);
    state.ttlDeadline = existing.ttlDeadline;
    return true;
}

bool QStateSyncerPrivate::removeState(const QString &stateIdentifier,
                                      QStateSync::RemovalReason reason)
{
    if (!states.contains(stateIdentifier))
        return false;
    if (QStateSyncSharedStorage *shared = sharedStorage()) {
        // One node removes it from the cluster; the others hear of it. A ttl removes only
        // a state that is due (another node may have given it a new life).
        const qint64 dueAt = reason == QStateSync::RemovalReason::Ttl
                ? QDateTime::currentMSecsSinceEpoch()
                : 0;
        switch (shared->removeState(stateIdentifier, reason, dueAt)) {
        case QStateSyncSharedStorage::RemoveResult::Removed:
        case QStateSyncSharedStorage::RemoveResult::Absent:
            break;
        case QStateSyncSharedStorage::RemoveResult::NotDue:
        case QStateSyncSharedStorage::RemoveResult::Failed:
            // Removed here only, it would live on in the cluster, and come back: it stays.
            return clusterRemovalFailed(stateIdentifier, reason);
        }
    }
    return removeStateHere(stateIdentifier, reason);
}

bool QStateSyncerPrivate::removeStateHere(const QString &stateIdentifier,
                                          QStateSync::RemovalReason reason)
{
    const auto state = states.take(stateIdentifier);
    if (!state)
        return false;
    state->removed = true;
    if (state->ttlTimer)
        state->ttlTimer->stop();
    if (QStateSyncUpdateRequest *waiting = state->waitingFor) {
        state->waitingFor = nullptr;
        waiting->cancel();
    }
    state->queue.clear();
    if (QStateSyncStoragePrivate *backend = storageBackend())
        backend->removeState(stateIdentifier);
    if (QStateSyncSharedStorage *shared = sharedStorage()) {
        if (state->following)
            shared->unfollow(stateIdentifier);
        state->following = false;
        for (const QStateSyncChange &change : std::exchange(state->outgoing, {}))
            refuseChange(change, Error::StateNotFound,
                         QStringLiteral("The state was removed before the change was applied"));
        if (state->inFlight) {
            for (const QStateSyncChange &change : state->inFlight->changes)
                refuseChange(change, Error::StateNotFound,
                             QStringLiteral("The state was removed before the change was applied"));
            state->inFlight.reset();
        }
        for (const QPointer<QStateSyncConnection> &waiting : std::exchange(state->waitingJoins, {}))
            if (waiting && waiting->awaitedState == stateIdentifier) {
                waiting->awaitedState.clear();
                sendStateNotFound(waiting, stateIdentifier);
            }
    }
    const QList<QStateSyncConnection *> clients = std::exchange(state->clients, {});
    const QByteArray removed = encodeStateRemoved(stateIdentifier, reason);
    for (QStateSyncConnection *client : clients) {
        client->setJoinedState(QString());
        client->send(removed);
    }
    for (QStateSyncConnection *client : clients)
        Q_EMIT q->clientLeft(stateIdentifier, client->clientIdentifier(),
                             client->clientInformation());
    Q_EMIT q->stateRemoved(stateIdentifier, reason);
    Q_EMIT q->stateIdentifiersChanged();
    return true;
}
