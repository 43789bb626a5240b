// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncer_p.h"
#include "qstatesyncauthorizationrequest.h"
#include "qstatesyncconnection_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"

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
    QObject::connect(transport, &QStateSyncTransport::clientConnected, q,
                     [this](QWebSocket *webSocket, QTcpSocket *tcpSocket,
                            const QStateSyncIdentity &identity) {
                         addConnection(webSocket, tcpSocket, identity);
                     });
}

QStateSyncerPrivate::~QStateSyncerPrivate()
{
    // Children of q outlive this object by a moment; take down everything that calls back
    // into it first.
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
}

void QStateSyncerPrivate::addConnection(QWebSocket *webSocket, QTcpSocket *tcpSocket,
                                        const QStateSyncIdentity &identity)
{
    auto *connection
            = new QStateSyncConnection(this, webSocket, tcpSocket, identity, nextConnectionId++);
    connection->setParent(q);
    connections.append(connection);
    qCDebug(lcStateSyncServer).noquote()
            << "client" << connection->peerDescription() << "connected, protocol"
            << (connection->isV2() ? "v2" : "v1");
    Q_EMIT q->clientCountChanged();
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
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "refused a message from " << connection->peerDescription() << ": "
            << QStateSync::errorCode(message.error) << ": " << loggable(message.errorMessage);
    connection->send(
            encodeError(message.replyType, message.error, message.errorMessage, message.requestId));
}

void QStateSyncerPrivate::handleMessage(QStateSyncConnection *connection, const QString &text)
{
    const QByteArray utf8 = text.toUtf8();
    ++counters.messagesReceived;
    counters.bytesReceived += quint64(utf8.size());
    const ClientMessage message = decodeClientMessage(QByteArrayView(utf8), maxNestingDepth);
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
    const auto state = states.value(stateIdentifier);
    if (!state) {
        qCInfo(lcStateSyncServer).noquote()
                << "client" << connection->peerDescription() << "asked to join unknown state"
                << loggable(stateIdentifier);
        sendStateNotFound(connection, stateIdentifier);
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
        connection->send(encodeError(MessageType::StateConnectionError, Error::JoinRefused,
                                     QStringLiteral("Client is not allowed to connect to state"),
                                     QJsonValue::Undefined, stateIdentifier));
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
    connection->send(encodeError(MessageType::StateConnectionError, Error::StateNotFound,
                                 QStringLiteral("State %1 does not exist").arg(stateIdentifier),
                                 QJsonValue::Undefined, stateIdentifier));
}

void QStateSyncerPrivate::finishJoin(QStateSyncConnection *connection,
                                     const QString &stateIdentifier, QStateSyncJoinRequest *request)
{
    if (connection->isGone())
        return;
    if (request && request->status() == QStateSyncRequest::Cancelled)
        return;
    if (request && request->status() == QStateSyncRequest::Rejected) {
        const QString message = request->rejectionMessage().isEmpty()
                ? QStringLiteral("Client is not allowed to connect to state")
                : request->rejectionMessage();
        qCInfo(lcStateSyncServer).noquote() << "client" << connection->peerDescription()
                                            << "was refused state" << loggable(stateIdentifier);
        connection->send(encodeError(MessageType::StateConnectionError, Error::JoinRefused, message,
                                     QJsonValue::Undefined, stateIdentifier));
        return;
    }
    // The state may have gone while the hook deferred: the client then stays where it was.
    const auto state = states.value(stateIdentifier);
    if (!state) {
        sendStateNotFound(connection, stateIdentifier);
        return;
    }
    if (connection->joinedState() != stateIdentifier && !connection->joinedState().isEmpty()) {
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
    const bool rejoin = connection->joinedState() == stateIdentifier;
    if (!rejoin) {
        state->clients.append(connection);
        connection->setJoinedState(stateIdentifier);
        connection->publicInformation = QJsonObject::fromVariantMap(
                request ? request->publicInformation() : connection->defaultPublicInformation());
        connection->presenceData = QJsonObject();
    }
    connection->send(encodeConnectionEstablished(
            stateIdentifier, state->value, state->version, state->options.mergeMode(),
            state->presence(), connection->isV2() ? qint64(connection->id()) : -1));
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
    QString cancelledJoin;
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
    if (!askSelfDestruct || state->removed)
        return;
    if (const auto selfDestruct = state->options.selfDestruct();
        selfDestruct && selfDestruct(int(state->clients.size()), state->createdAt.toLocalTime())) {
        qCInfo(lcStateSyncServer).noquote()
                << "state" << loggable(stateIdentifier) << "self-destructs";
        removeState(stateIdentifier, QStateSync::RemovalReason::SelfDestruct);
    }
}

void QStateSyncerPrivate::handleChange(QStateSyncConnection *connection,
                                       const ClientMessage &message)
{
    const auto state = states.value(connection->joinedState());
    if (!state) {
        qCInfo(lcStateSyncServer).noquote()
                << "client" << connection->peerDescription() << "sent an update without a state";
        connection->send(encodeError(MessageType::StateUpdateFailed, Error::NotJoined,
                                     QStringLiteral("Client is not connected to a state"),
                                     message.requestId));
        return;
    }
    QStateSyncChange change;
    change.kind = message.type == MessageType::AppendToState ? QStateSyncUpdateRequest::Append
                                                             : QStateSyncUpdateRequest::Update;
    change.changes
            = change.kind == QStateSyncUpdateRequest::Append ? message.appends : message.updates;
    change.sender = connection;
    change.clientIdentifier = connection->clientIdentifier();
    change.clientInformation = connection->clientInformation();
    change.requestId = message.requestId;
    state->queue.push_back(std::move(change));
    processQueue(state);
}

bool QStateSyncerPrivate::submitServerChange(const QString &stateIdentifier,
                                             QStateSyncUpdateRequest::Kind kind,
                                             const QJsonObject &changes,
                                             const QVariantMap &clientInformation)
{
    const auto state = states.value(stateIdentifier);
    if (!state)
        return false;
    if (kind == QStateSyncUpdateRequest::Append) {
        for (const QJsonValue &items : changes) {
            if (!items.isArray()) {
                qCWarning(lcStateSyncServer) << "appendToState: every value must be an array";
                return false;
            }
        }
    }
    QStateSyncChange change;
    change.kind = kind;
    change.changes = changes;
    change.serverSide = true;
    change.clientInformation = clientInformation;
    state->queue.push_back(std::move(change));
    processQueue(state);
    return true;
}

void QStateSyncerPrivate::processQueue(const std::shared_ptr<QStateSyncServerState> &state)
{
    if (state->processing)
        return;
    state->processing = true;
    while (!state->removed && !state->waitingFor && !state->queue.empty()) {
        QStateSyncChange change = std::move(state->queue.front());
        state->queue.pop_front();
        if (!runInterceptor(*state, change) || state->removed)
            continue;
        if (!hasUpdateHandler()) {
            applyChange(*state, change);
            continue;
        }
        auto *request = new QStateSyncUpdateRequest(state->identifier, change.clientIdentifier,
                                                    change.clientInformation, change.kind,
                                                    change.serverSide, change.changes, q);
        Q_EMIT q->updateRequested(request);
        if (state->removed) {
            // A handler removed the state: nothing of it is applied, answered or not.
            request->cancel();
            request->deleteLater();
            break;
        }
        if (request->status() == QStateSyncRequest::Pending)
            request->accept();
        if (request->isAnswered()) {
            finishChange(state, std::move(change), request);
            continue;
        }
        state->waitingFor = request;
        const std::weak_ptr<QStateSyncServerState> weakState = state;
        QObject::connect(request, &QStateSyncRequest::finished, q,
                         [this, weakState, change, request] {
                             const auto state = weakState.lock();
                             if (!state || state->waitingFor != request) {
                                 request->deleteLater();
                                 return;
                             }
                             state->waitingFor = nullptr;
                             finishChange(state, change, request);
                             processQueue(state);
                         });
    }
    state->processing = false;
}

bool QStateSyncerPrivate::runInterceptor(QStateSyncServerState &state, QStateSyncChange &change)
{
    const QStateSyncStateOptions::Interceptor interceptUpdate
            = state.options.interceptStateUpdate();
    if (change.kind == QStateSyncUpdateRequest::Update) {
        if (!interceptUpdate)
            return true;
        const std::optional<QJsonObject> result
                = interceptUpdate(change.changes, change.clientInformation);
        if (!result) {
            refuseChange(change, Error::UpdateRefused, QStringLiteral("The update was refused"));
            return false;
        }
        change.changes = *result;
        return true;
    }

    if (const auto interceptAppend = state.options.interceptStateAppend()) {
        const std::optional<QJsonObject> result
                = interceptAppend(change.changes, change.clientInformation);
        if (!result) {
            refuseChange(change, Error::UpdateRefused, QStringLiteral("The append was refused"));
            return false;
        }
        change.changes = *result;
        return true;
    }
    if (!interceptUpdate)
        return true;

    // Show the append to the update interceptor as a client of the original would have
    // sent it. The state applies one change at a time, so the arrays are current.
    QJsonObject whole = state.value;
    QString failedKey;
    if (!QStateSyncMerge::applyAppend(whole, change.changes, &failedKey)) {
        refuseChange(change, Error::NotAnArray,
                     QStringLiteral("%1 is not an array").arg(failedKey));
        return false;
    }
    const std::optional<QJsonObject> result = interceptUpdate(
            QStateSyncMerge::topLevelValues(whole, change.changes), change.clientInformation);
    if (!result) {
        refuseChange(change, Error::UpdateRefused, QStringLiteral("The append was refused"));
        return false;
    }
    change.kind = QStateSyncUpdateRequest::Update;
    change.changes = *result;
    return true;
}

void QStateSyncerPrivate::finishChange(const std::shared_ptr<QStateSyncServerState> &state,
                                       QStateSyncChange change, QStateSyncUpdateRequest *request)
{
    request->deleteLater();
    switch (request->status()) {
    case QStateSyncRequest::Accepted:
        change.changes = change.kind == QStateSyncUpdateRequest::Append ? request->appends()
                                                                        : request->updates();
        if (!state->removed)
            applyChange(*state, change);
        break;
    case QStateSyncRequest::Rejected:
        refuseChange(change, Error::UpdateRefused,
                     request->rejectionMessage().isEmpty()
                             ? QStringLiteral("The update was refused")
                             : request->rejectionMessage());
        break;
    default:
        break;
    }
}

void QStateSyncerPrivate::applyChange(QStateSyncServerState &state, const QStateSyncChange &change)
{
    // Hooks may have rewritten the change: hold it to the same depth rule as a message
    // (the message envelope takes two of the levels).
    if (QStateSyncMerge::depth(change.changes) > maxNestingDepth - 2) {
        refuseChange(
                change, Error::NestingTooDeep,
                QStringLiteral("The update nests deeper than %1 levels").arg(maxNestingDepth - 2));
        return;
    }
    QJsonObject notified = change.changes;
    if (change.kind == QStateSyncUpdateRequest::Append) {
        QString failedKey;
        if (!QStateSyncMerge::applyAppend(state.value, change.changes, &failedKey)) {
            refuseChange(change, Error::NotAnArray,
                         QStringLiteral("%1 is not an array").arg(failedKey));
            return;
        }
        notified = QStateSyncMerge::topLevelValues(state.value, change.changes);
    } else {
        QStateSyncMerge::apply(state.value, change.changes, state.options.mergeMode());
    }
    ++state.version;
    ++counters.updatesApplied;
    state.broadcast(change.kind, change.changes, change.sender, change.requestId);
    Q_EMIT q->stateUpdated(state.identifier, notified, state.version);
}

void QStateSyncerPrivate::refuseChange(const QStateSyncChange &change, Error error,
                                       const QString &message)
{
    ++counters.updatesRefused;
    if (!change.sender) {
        qCDebug(lcStateSyncServer).noquote()
                << "server-side change refused:" << QStateSync::errorCode(error) << message;
        return;
    }
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "refused a change from " << change.sender->peerDescription() << ": "
            << QStateSync::errorCode(error) << ": " << loggable(message);
    change.sender->send(
            encodeError(MessageType::StateUpdateFailed, error, message, change.requestId));
}

QString QStateSyncerPrivate::createState(const QStateSyncStateOptions &options)
{
    QString identifier = options.identifier();
    if (identifier.isEmpty())
        identifier = QUuid::createUuid().toString(QUuid::WithoutBraces);
    if (states.contains(identifier))
        return QString();
    auto state = std::make_shared<QStateSyncServerState>(identifier, options);
    if (options.ttl().count() > 0) {
        // QTimer counts in int milliseconds (24.8 days): a longer life is waited for in
        // steps, up to a deadline.
        const QDeadlineTimer expiry(options.ttl(), Qt::PreciseTimer);
        state->ttlTimer = new QTimer(q);
        state->ttlTimer->setSingleShot(true);
        state->ttlTimer->setTimerType(Qt::PreciseTimer);
        const auto nextStep = [expiry] {
            return int(
                    std::clamp<qint64>(expiry.remainingTime(), 0, std::numeric_limits<int>::max()));
        };
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
    states.insert(identifier, state);
    Q_EMIT q->stateCreated(identifier);
    Q_EMIT q->stateIdentifiersChanged();
    return identifier;
}

bool QStateSyncerPrivate::removeState(const QString &stateIdentifier,
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
