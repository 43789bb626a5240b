// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// QStateSyncClientPrivate, part two: the protocol and the copy of the state. Joining,
// sending (or queueing) updates, and applying what the server sends.

#include "qstatesyncclient_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncpresencemodel.h"
#include "qstatesyncstatemap_p.h"

#include <QtCore/qjsonarray.h>

using namespace QStateSyncProtocol;
using QStateSync::Error;
using Operation = QStateSyncLocalCopy::Operation;

QStateSyncClientPrivate::QStateSyncClientPrivate(QStateSyncClient *q)
    : q(q)
    , socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, q))
    , reconnectTimer(new QTimer(q))
    , heartbeatTimer(new QTimer(q))
    , attemptTimer(new QTimer(q))
    , map(new QStateSyncStateMap(
              [this](const QString &key, const QVariant &value) { writeFromQml(key, value); }, q))
    , presence(new QStateSyncPresenceModel(q))
{
    QObject::connect(socket, &QWebSocket::connected, q, [this] { onConnected(); });
    QObject::connect(socket, &QWebSocket::disconnected, q, [this] { onDisconnected(); });
    QObject::connect(socket, &QWebSocket::textMessageReceived, q, [this](const QString &text) {
        heardSinceLastPing = true;
        onTextMessage(text);
    });
    QObject::connect(socket, &QWebSocket::binaryMessageReceived, q,
                     [this] { heardSinceLastPing = true; });
    QObject::connect(socket, &QWebSocket::pong, q, [this] { heardSinceLastPing = true; });
    // A large message arrives in fragments (the server cuts them at 64 KiB): each one is
    // a sign of life, so a slow link that is still receiving is not taken for dead.
    QObject::connect(socket, &QWebSocket::textFrameReceived, q,
                     [this] { heardSinceLastPing = true; });
    QObject::connect(socket, &QWebSocket::binaryFrameReceived, q,
                     [this] { heardSinceLastPing = true; });
    QObject::connect(socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), q,
                     [this](QAbstractSocket::SocketError error) { onSocketError(error); });
    reconnectTimer->setSingleShot(true);
    reconnectTimer->setTimerType(Qt::PreciseTimer); // a wait is never cut short
    QObject::connect(reconnectTimer, &QTimer::timeout, q, [this] {
        if (mayReconnect())
            startAttempt(QStateSyncClient::Reconnecting);
    });
    QObject::connect(heartbeatTimer, &QTimer::timeout, q, [this] { onHeartbeat(); });
    attemptTimer->setSingleShot(true);
    QObject::connect(attemptTimer, &QTimer::timeout, q, [this] {
        if (!attemptConnected && !errorReportedForAttempt) {
            attemptFailed(
                    QStateSync::Error::ConnectionFailed,
                    QStringLiteral("The server did not answer within %1 ms").arg(connectTimeout));
        }
    });
}

QStateSyncClientPrivate::~QStateSyncClientPrivate()
{
    QObject::disconnect(socket, nullptr, q, nullptr);
    delete socket;
}

void QStateSyncClientPrivate::setStatus(QStateSyncClient::Status newStatus)
{
    if (status == newStatus)
        return;
    status = newStatus;
    Q_EMIT q->statusChanged();
}

void QStateSyncClientPrivate::setError(Error newError, const QString &message)
{
    error = newError;
    errorString = message;
    Q_EMIT q->errorChanged();
}

void QStateSyncClientPrivate::reportError(Error newError, const QString &message)
{
    setError(newError, message);
    Q_EMIT q->errorOccurred(newError, message);
}

void QStateSyncClientPrivate::setDesiredState(const QString &stateIdentifier)
{
    if (desiredState == stateIdentifier)
        return;
    desiredState = stateIdentifier;
    Q_EMIT q->stateIdentifierChanged();
}

void QStateSyncClientPrivate::sendText(const QByteArray &message)
{
    socket->sendTextMessage(QString::fromUtf8(message));
}

void QStateSyncClientPrivate::join(const QString &stateIdentifier)
{
    setStatus(QStateSyncClient::Joining);
    sendText(encodeConnectToState(stateIdentifier));
}

void QStateSyncClientPrivate::setOptimistic(bool optimistic)
{
    // A v1 server acknowledges nothing, so nothing could ever be confirmed or corrected.
    notify(copy.setOptimistic(optimistic && protocol == QStateSyncClient::ProtocolV2));
}

int QStateSyncClientPrivate::queuedCount() const
{
    const QList<Operation> &pending = copy.pending();
    return int(std::count_if(pending.cbegin(), pending.cend(),
                             [](const Operation &operation) { return !operation.sent; }));
}

QByteArray QStateSyncClientPrivate::encodeOperation(const Operation &operation, bool *failed)
{
    *failed = false;
    const bool isAppend = operation.kind == QStateSyncLocalCopy::Kind::Append;
    if (protocol == QStateSyncClient::ProtocolV2) {
        return isAppend ? encodeAppendToState(operation.changes, operation.requestId)
                        : encodeUpdateState(operation.changes, operation.requestId);
    }
    if (!isAppend)
        return encodeUpdateState(operation.changes, QJsonValue::Undefined);
    // A v1 server knows no append: send the whole new arrays, as the original's clients
    // do (not atomic there). An array this client sent and the server has not echoed yet
    // is the base, so that two appends in a row both count.
    QJsonObject whole = copy.value();
    for (auto it = operation.changes.constBegin(); it != operation.changes.constEnd(); ++it) {
        const auto sent = v1SentArrays.constFind(it.key());
        if (sent != v1SentArrays.constEnd())
            whole.insert(it.key(), *sent);
    }
    QString failedKey;
    if (!QStateSyncMerge::applyAppend(whole, operation.changes, &failedKey)) {
        *failed = true;
        reportError(Error::NotAnArray, QStringLiteral("%1 is not an array").arg(failedKey));
        return QByteArray();
    }
    const QJsonObject arrays = QStateSyncMerge::topLevelValues(whole, operation.changes);
    for (auto it = arrays.constBegin(); it != arrays.constEnd(); ++it)
        v1SentArrays.insert(it.key(), it.value().toArray());
    return encodeUpdateState(arrays, QJsonValue::Undefined);
}

qint64 QStateSyncClientPrivate::sendChange(int type, const QJsonObject &changes)
{
    const bool joined = status == QStateSyncClient::Joined && !joinedState.isEmpty()
            && socket->state() == QAbstractSocket::ConnectedState;
    // Not joined yet, but on the way: the update waits in the queue.
    const bool willJoin = !joined && active && !desiredState.isEmpty()
            && status != QStateSyncClient::Unconnected && status != QStateSyncClient::Error;
    if (!joined && !willJoin) {
        reportError(Error::NotConnected, QStringLiteral("The client has not joined a state"));
        return -1;
    }
    if (!joined && queuedCount() >= maxQueuedUpdates) {
        reportError(
                Error::QueueFull,
                QStringLiteral("%1 updates already wait for the connection").arg(maxQueuedUpdates));
        return -1;
    }
    Operation operation;
    operation.requestId = nextRequestId++;
    operation.kind = type == MessageType::AppendToState ? QStateSyncLocalCopy::Kind::Append
                                                        : QStateSyncLocalCopy::Kind::Update;
    operation.changes = changes;
    operation.stateIdentifier = joined ? joinedState : desiredState;
    operation.sent = joined;
    if (joined) {
        bool failed = false;
        const QByteArray message = encodeOperation(operation, &failed);
        if (failed)
            return -1;
        sendText(message);
        if (protocol == QStateSyncClient::ProtocolV1)
            return operation.requestId; // nothing to wait for: v1 acknowledges nothing
    }
    notify(copy.addPending(operation));
    Q_EMIT q->pendingUpdateCountChanged();
    return operation.requestId;
}

void QStateSyncClientPrivate::flushQueue()
{
    QList<qint64> queued;
    for (const Operation &operation : copy.pending()) {
        if (!operation.sent && operation.stateIdentifier == joinedState)
            queued.append(operation.requestId);
    }
    for (qint64 requestId : std::as_const(queued)) {
        Operation *operation = copy.findPending(requestId);
        if (!operation)
            continue;
        bool failed = false;
        const QByteArray message = encodeOperation(*operation, &failed);
        if (protocol == QStateSyncClient::ProtocolV2) {
            operation->sent = true;
            sendText(message);
            continue;
        }
        // v1: sent and forgotten, or refused here when it does not fit.
        notify(copy.removePending(requestId));
        Q_EMIT q->pendingUpdateCountChanged();
        if (failed)
            Q_EMIT q->updateFailed(requestId, Error::NotAnArray, errorString);
        else
            sendText(message);
    }
}

void QStateSyncClientPrivate::writeFromQml(const QString &key, const QVariant &newValue)
{
    sendChange(MessageType::UpdateState, QJsonObject{{key, QJsonValue::fromVariant(newValue)}});
}

QString QStateSyncClientPrivate::leftBeforeAcknowledgement()
{
    return QStringLiteral("The client left the state before the server acknowledged the "
                          "update; the server may still have applied it");
}

Error QStateSyncClientPrivate::errorOf(const QJsonObject &data, Error fallback)
{
    const QJsonValue code = data.value(QLatin1String("code"));
    return code.isString() ? QStateSync::errorFromCode(code.toString()) : fallback;
}

void QStateSyncClientPrivate::failWhere(const std::function<bool(const Operation &)> &predicate,
                                        Error code, const QString &message)
{
    QStateSyncLocalCopy::Diff diff;
    const QList<Operation> failed = copy.takePending(predicate, &diff);
    if (failed.isEmpty())
        return;
    notify(diff);
    Q_EMIT q->pendingUpdateCountChanged();
    for (const Operation &operation : failed) {
        // Confirmed while a resync waited: the server applied it, whatever stops the wait.
        if (operation.acknowledged)
            Q_EMIT q->updateAcknowledged(operation.requestId, operation.acknowledgedVersion);
        else
            Q_EMIT q->updateFailed(operation.requestId, code, message);
    }
}

void QStateSyncClientPrivate::failPending(Error code, const QString &message, const QString &state,
                                          bool sentOnly)
{
    failWhere(
            [&](const Operation &operation) {
                return (state.isEmpty() || operation.stateIdentifier == state)
                        && (!sentOnly || operation.sent);
            },
            code, message);
}

void QStateSyncClientPrivate::failAllPending(Error code, const QString &message)
{
    failPending(code, message, QString(), false);
}

void QStateSyncClientPrivate::onTextMessage(const QString &text)
{
    const ServerMessage message = decodeServerMessage(text);
    if (!message.valid) {
        qCWarning(lcStateSyncClient) << "the server sent a message that is not a protocol "
                                        "message; ignored";
        return;
    }
    switch (message.type) {
    case MessageType::StateConnectionEstablished:
        handleEstablished(message.data);
        break;
    case MessageType::StateUpdated:
    case MessageType::StateAppended:
        handleChange(message.type, message.data);
        break;
    case MessageType::StateConnectionError:
        handleJoinError(message.data);
        break;
    case MessageType::StateUpdateFailed:
        handleUpdateFailed(message.data);
        break;
    case MessageType::StateLeft:
        handleLeft(message.data);
        break;
    case MessageType::StateRemoved:
        handleRemoved(message.data);
        break;
    case MessageType::PresenceChanged:
        handlePresence(message.data);
        break;
    case MessageType::UnsupportedMessageType:
    case MessageType::ProtocolError:
        reportError(errorOf(message.data,
                            message.type == MessageType::ProtocolError
                                    ? Error::InvalidMessage
                                    : Error::UnsupportedMessageType),
                    message.data.value(QLatin1String("message")).toString());
        break;
    default:
        qCDebug(lcStateSyncClient) << "ignored message of unknown type" << message.type;
        break;
    }
}

void QStateSyncClientPrivate::showNewState()
{
    map->reset(copy.value().toVariantHash());
    Q_EMIT q->versionChanged();
}

void QStateSyncClientPrivate::handleEstablished(const QJsonObject &data)
{
    const QString identifier = data.value(QLatin1String("stateIdentifier")).toString(desiredState);
    const QString previousState = std::exchange(joinedState, identifier);
    resyncDeferred = false;
    resyncAskedFor.clear();
    // Slots of the signals below may close or move the client: stop when one did.
    const quint64 current = generation;
    // What was sent in another state will not be acknowledged here, and what waited for a
    // state the client no longer goes to will not be sent.
    failWhere(
            [&](const Operation &operation) {
                return operation.sent && operation.stateIdentifier != identifier;
            },
            Error::NotJoined, leftBeforeAcknowledgement());
    failWhere(
            [&](const Operation &operation) {
                return !operation.sent && operation.stateIdentifier != identifier
                        && operation.stateIdentifier != desiredState;
            },
            Error::NotJoined,
            QStringLiteral("The client went to another state before the update was sent"));
    if (current != generation)
        return;

    // Even an answer to a join the application has replaced since is where the server
    // put the client: the copy follows it, so it is never another state's value.
    const QJsonObject newValue = data.value(QLatin1String("state")).toObject();
    copy.setMergeMode(protocol == QStateSyncClient::ProtocolV2
                                      && data.value(QLatin1String("mergeMode")).toString()
                                              != QLatin1String("shallow")
                              ? QStateSync::MergeMode::Deep
                              : QStateSync::MergeMode::Shallow);
    const qint64 newVersion = data.value(QLatin1String("version")).toInteger(-1);
    const bool wasJoining = status == QStateSyncClient::Joining;
    // A whole value sent instead of a catch-up lists the requests of this client it
    // includes: they are acknowledged, and leave with the reset below.
    const QList<qint64> included
            = copy.stateIdentifier() == identifier ? ownRequestIds(data) : QList<qint64>();
    for (qint64 requestId : included)
        copy.findPending(requestId)->acknowledged = true;
    // Those and the ones acknowledged while a resync waited for this value leave with the
    // reset below; their acknowledgements are told once the copy holds the value.
    QList<QPair<qint64, qint64>> confirmed;
    if (copy.stateIdentifier() == identifier) {
        for (const Operation &operation : copy.pending()) {
            if (operation.acknowledged) {
                confirmed.append({operation.requestId,
                                  operation.acknowledgedVersion >= 0 ? operation.acknowledgedVersion
                                                                     : newVersion});
            }
        }
    }

    if (copy.stateIdentifier() == identifier) {
        // Back in the same state (a resync, or a rejoin): tell listeners what changed.
        const qint64 oldVersion = copy.version();
        const QStateSyncLocalCopy::Diff diff = copy.reset(identifier, newValue, newVersion);
        if (oldVersion != newVersion)
            Q_EMIT q->versionChanged();
        notify(diff);
        Q_EMIT q->pendingUpdateCountChanged();
        for (const auto &[requestId, version] : std::as_const(confirmed))
            Q_EMIT q->updateAcknowledged(requestId, version);
    } else {
        copy.reset(identifier, newValue, newVersion);
        showNewState();
    }
    if (current != generation)
        return;
    resyncing = false;
    if (protocol == QStateSyncClient::ProtocolV2) {
        presence->reset(data.value(QLatin1String("presence")).toArray(),
                        data.value(QLatin1String("presenceId")).toInteger(-1));
        // Presence data belongs to a membership: bring it into the state just joined.
        if (previousState != identifier && !presenceData.isEmpty())
            sendText(encodeSetPresence(QJsonObject::fromVariantMap(presenceData)));
    }
    if (identifier != desiredState)
        return; // still Joining: the answer to the join asked last comes next
    flushQueue();
    setReconnectAttempt(0);
    setStatus(QStateSyncClient::Joined);
    if (wasJoining)
        Q_EMIT q->joined(identifier, copy.value().toVariantMap());
}

bool QStateSyncClientPrivate::versionInSequence(const QJsonObject &data)
{
    const QJsonValue newVersion = data.value(QLatin1String("version"));
    if (!newVersion.isDouble() || copy.version() < 0)
        return true; // a v1 server sends no versions
    const qint64 next = newVersion.toInteger();
    if (next <= copy.version())
        return false;
    if (next == copy.version() + 1 || data.value(QLatin1String("conflated")).toBool())
        return true;
    qCInfo(lcStateSyncClient) << "missed versions" << copy.version() + 1 << "to" << next - 1
                              << "of state" << joinedState << "; resyncing";
    resync();
    return false;
}

void QStateSyncClientPrivate::forgetMembership()
{
    joinedState.clear();
    resyncing = false;
    resyncDeferred = false;
    presence->clear();
}

void QStateSyncClientPrivate::resync()
{
    resyncing = true;
    // A join to another state is on its way: its answer replaces the copy. Asking for this
    // state again now would move the client back; ask only if that join fails.
    if (desiredState != joinedState) {
        resyncDeferred = true;
        return;
    }
    resyncAskedFor = joinedState;
    sendText(encodeConnectToState(joinedState));
}

QList<qint64> QStateSyncClientPrivate::ownRequestIds(const QJsonObject &data)
{
    // An echo names one request; a conflated catch-up (or the whole value that replaced
    // it) lists every request of this client it includes.
    QList<qint64> own;
    const auto take = [&](const QJsonValue &value) {
        if (!value.isDouble())
            return;
        const Operation *operation = copy.findPending(value.toInteger());
        if (operation && !operation->acknowledged && !own.contains(operation->requestId))
            own.append(operation->requestId);
    };
    take(data.value(QLatin1String("requestId")));
    const QJsonArray listed = data.value(QLatin1String("requestIds")).toArray();
    for (const QJsonValue &value : listed)
        take(value);
    return own;
}

void QStateSyncClientPrivate::handleChange(int type, const QJsonObject &data)
{
    if (joinedState.isEmpty())
        return;
    const QList<qint64> own = ownRequestIds(data);
    const qint64 messageVersion = data.value(QLatin1String("version")).toInteger(-1);
    if (resyncing) {
        // The whole value on its way includes these changes: the operations stay visible
        // (and pending) until it arrives, and are acknowledged then.
        for (qint64 requestId : own) {
            Operation *operation = copy.findPending(requestId);
            operation->acknowledged = true;
            operation->acknowledgedVersion = messageVersion;
        }
        return;
    }
    if (!versionInSequence(data))
        return;
    const bool isAppend = type == MessageType::StateAppended;
    const QJsonObject changes
            = data.value(isAppend ? QLatin1String("appends") : QLatin1String("updates")).toObject();
    // v1: once the server sent a key again, the copy is the base for the next append.
    for (auto it = changes.constBegin(); it != changes.constEnd(); ++it)
        v1SentArrays.remove(it.key());
    const qint64 oldVersion = copy.version();
    const qint64 newVersion = messageVersion >= 0 ? messageVersion : oldVersion;
    QStateSyncLocalCopy::Diff diff;
    if (!copy.applyServerChange(isAppend ? QStateSyncLocalCopy::Kind::Append
                                         : QStateSyncLocalCopy::Kind::Update,
                                changes, newVersion, own, &diff)) {
        resync();
        return;
    }
    if (newVersion != oldVersion)
        Q_EMIT q->versionChanged();
    notify(diff);
    if (!own.isEmpty())
        Q_EMIT q->pendingUpdateCountChanged();
    for (qint64 requestId : own)
        Q_EMIT q->updateAcknowledged(requestId, newVersion);
}

void QStateSyncClientPrivate::notify(const QStateSyncLocalCopy::Diff &diff)
{
    if (diff.isEmpty())
        return;
    QVariantMap updates;
    QVariantMap previous;
    QVariantHash changedForMap;
    QStringList removed;
    const QJsonObject &value = copy.value();
    for (const QString &key : diff.keys) {
        previous.insert(key, diff.previous.value(key).toVariant());
        const QJsonValue current = value.value(key);
        if (current.isUndefined()) {
            updates.insert(key, QVariant());
            removed.append(key);
        } else {
            const QVariant converted = current.toVariant();
            updates.insert(key, converted);
            changedForMap.insert(key, converted);
        }
    }
    map->set(changedForMap, removed);
    Q_EMIT q->stateUpdated(updates, previous);
    // A listener may add or remove listeners: call the ones there were when this began.
    const QList<Listener> current = listeners;
    for (const Listener &listener : current) {
        const bool matches = listener.properties.isEmpty()
                || std::any_of(diff.keys.cbegin(), diff.keys.cend(), [&](const QString &key) {
                                 return listener.properties.contains(key);
                             });
        if (matches)
            listener.callback(updates, previous);
    }
}

void QStateSyncClientPrivate::handleJoinError(const QJsonObject &data)
{
    const Error code = errorOf(data, Error::JoinRefused);
    const QString message = data.value(QLatin1String("message")).toString();
    const QString identifier = data.value(QLatin1String("stateIdentifier")).toString(desiredState);
    if (identifier == resyncAskedFor && identifier != desiredState && identifier != joinedState) {
        // The answer to a resync of a state the client has left since (it was removed):
        // stateRemoved() said so already.
        resyncAskedFor.clear();
        qCDebug(lcStateSyncClient) << "resync of" << identifier << "answered with" << message;
        return;
    }
    setError(code, message);
    if (identifier != desiredState) {
        // The answer to a join the application has replaced since: the one asked last
        // is still on its way.
        Q_EMIT q->joinFailed(identifier, code, message);
        Q_EMIT q->errorOccurred(code, message);
        return;
    }
    if (resyncing && identifier == joinedState) {
        resyncing = false;
        resyncDeferred = false;
        joinedState.clear();
    }
    const quint64 current = generation;
    setDesiredState(joinedState);
    setStatus(joinedState.isEmpty() ? QStateSyncClient::Connected : QStateSyncClient::Joined);
    setReconnectAttempt(0);
    // The join that made a resync wait failed: the client stays, and resyncs now.
    if (resyncDeferred && !joinedState.isEmpty()) {
        resyncDeferred = false;
        resync();
    }
    // What waited for this state will not be sent.
    failWhere(
            [&](const Operation &operation) {
                return !operation.sent && operation.stateIdentifier == identifier;
            },
            code, message);
    if (current != generation)
        return;
    Q_EMIT q->joinFailed(identifier, code, message);
    Q_EMIT q->errorOccurred(code, message);
}

void QStateSyncClientPrivate::handleUpdateFailed(const QJsonObject &data)
{
    const Error code = errorOf(data, Error::UpdateRefused);
    const QString message = data.value(QLatin1String("message")).toString();
    const QJsonValue requestId = data.value(QLatin1String("requestId"));
    setError(code, message);
    if (requestId.isDouble() && copy.findPending(requestId.toInteger())) {
        // Rolled back: the copy shows the server's value without it.
        notify(copy.removePending(requestId.toInteger()));
        Q_EMIT q->pendingUpdateCountChanged();
        Q_EMIT q->updateFailed(requestId.toInteger(), code, message);
    }
    Q_EMIT q->errorOccurred(code, message);
}

void QStateSyncClientPrivate::handleLeft(const QJsonObject &data)
{
    const QString identifier = data.value(QLatin1String("stateIdentifier")).toString();
    const bool wasJoined = !joinedState.isEmpty() && identifier == joinedState;
    if (wasJoined) {
        joinedState.clear();
        presence->clear();
    }
    // Also the answer to a leave that only cancelled a join still waiting for its hook.
    if (status == QStateSyncClient::Joined || status == QStateSyncClient::Joining)
        setStatus(desiredState.isEmpty() ? QStateSyncClient::Connected : QStateSyncClient::Joining);
    const quint64 current = generation;
    if (wasJoined) {
        failWhere(
                [&](const Operation &operation) {
                    return operation.stateIdentifier == identifier
                            && (operation.sent || desiredState != identifier);
                },
                Error::NotJoined, leftBeforeAcknowledgement());
    }
    if (wasJoined && current == generation)
        Q_EMIT q->left(identifier);
}

void QStateSyncClientPrivate::handlePresence(const QJsonObject &data)
{
    if (joinedState.isEmpty())
        return;
    const QString event = data.value(QLatin1String("event")).toString();
    const QJsonObject entry = data.value(QLatin1String("presence")).toObject();
    const qint64 presenceId = entry.value(QLatin1String("id")).toInteger(-1);
    if (event == QLatin1String(PresenceEvent::Left)) {
        const QVariantMap peer = presence->remove(presenceId);
        if (!peer.isEmpty())
            Q_EMIT q->peerLeft(peer);
        return;
    }
    const bool known = presence->indexOf(presenceId) >= 0;
    const QVariantMap peer = presence->upsert(entry);
    if (known)
        Q_EMIT q->peerChanged(peer);
    else
        Q_EMIT q->peerJoined(peer);
}

void QStateSyncClientPrivate::handleRemoved(const QJsonObject &data)
{
    const QString identifier = data.value(QLatin1String("stateIdentifier")).toString();
    if (identifier != joinedState)
        return;
    const auto reason
            = QStateSync::removalReasonFromName(data.value(QLatin1String("reason")).toString());
    forgetMembership();
    if (desiredState == identifier) {
        setDesiredState(QString());
        setStatus(QStateSyncClient::Connected);
    }
    const quint64 current = generation;
    failPending(Error::StateRemoved, QStringLiteral("The state was removed"), identifier, false);
    if (current == generation)
        Q_EMIT q->stateRemoved(identifier, reason);
}
