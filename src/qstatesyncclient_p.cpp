// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncclient_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncpresencemodel.h"
#include "qstatesyncstatemap_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qurlquery.h>
#include <QtWebSockets/qwebsockethandshakeoptions.h>

using namespace QStateSyncProtocol;
using QStateSync::Error;

QStateSyncClientPrivate::QStateSyncClientPrivate(QStateSyncClient *q)
    : q(q)
    , socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, q))
    , map(new QStateSyncStateMap(
              [this](const QString &key, const QVariant &value) { writeFromQml(key, value); }, q))
    , presence(new QStateSyncPresenceModel(q))
{
    QObject::connect(socket, &QWebSocket::connected, q, [this] { onConnected(); });
    QObject::connect(socket, &QWebSocket::disconnected, q, [this] { onDisconnected(); });
    QObject::connect(socket, &QWebSocket::textMessageReceived, q,
                     [this](const QString &text) { onTextMessage(text); });
    QObject::connect(socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), q,
                     [this](QAbstractSocket::SocketError error) { onSocketError(error); });
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

void QStateSyncClientPrivate::setDesiredState(const QString &stateIdentifier)
{
    if (desiredState == stateIdentifier)
        return;
    desiredState = stateIdentifier;
    Q_EMIT q->stateIdentifierChanged();
}

void QStateSyncClientPrivate::setActive(bool newActive)
{
    if (active == newActive)
        return;
    active = newActive;
    Q_EMIT q->activeChanged();
}

void QStateSyncClientPrivate::scheduleOpen()
{
    if (openScheduled)
        return;
    openScheduled = true;
    QMetaObject::invokeMethod(
            q,
            [this] {
                openScheduled = false;
                if (active)
                    open();
            },
            Qt::QueuedConnection);
}

void QStateSyncClientPrivate::reconnectIfActive()
{
    if (!active || status == QStateSyncClient::Unconnected)
        return;
    close();
    scheduleOpen();
}

void QStateSyncClientPrivate::open()
{
    if (status == QStateSyncClient::Connecting || status == QStateSyncClient::Connected
        || status == QStateSyncClient::Joining || status == QStateSyncClient::Joined) {
        return;
    }
    if (!url.isValid() || clientIdentifier.isEmpty()) {
        const QString message = QStringLiteral("A valid url and a clientIdentifier are required");
        setError(Error::ConnectionFailed, message);
        setStatus(QStateSyncClient::Error);
        Q_EMIT q->errorOccurred(Error::ConnectionFailed, message);
        return;
    }

    // Percent-encode the values fully: the original server decodes '+' as a space.
    QUrlQuery existing(url);
    existing.removeAllQueryItems(QStringLiteral("identifier"));
    existing.removeAllQueryItems(QStringLiteral("token"));
    QByteArray query = existing.query(QUrl::FullyEncoded).toLatin1();
    if (!query.isEmpty())
        query += '&';
    query += "identifier=" + QUrl::toPercentEncoding(clientIdentifier);
    query += "&token=" + QUrl::toPercentEncoding(accessToken);
    QUrl target = url;
    target.setQuery(QString::fromLatin1(query), QUrl::StrictMode);
    if (target.path().isEmpty())
        target.setPath(QStringLiteral("/"));

    QWebSocketHandshakeOptions options;
    if (requestedProtocol == QStateSyncClient::ProtocolV2)
        options.setSubprotocols(
                {QString::fromLatin1(subprotocolV1), QString::fromLatin1(subprotocolV2)});
    if (!sslConfiguration.isNull())
        socket->setSslConfiguration(sslConfiguration);
    errorReportedForAttempt = false;
    attemptConnected = false;
    closing = false;
    setStatus(QStateSyncClient::Connecting);
    socket->open(target, options);
}

void QStateSyncClientPrivate::close()
{
    const bool wasConnected = status == QStateSyncClient::Connected
            || status == QStateSyncClient::Joining || status == QStateSyncClient::Joined;
    closing = true;
    if (socket->state() == QAbstractSocket::ConnectedState)
        socket->close();
    else
        socket->abort();
    joinedState.clear();
    resyncing = false;
    presence->clear();
    failPending(Error::ConnectionFailed,
                QStringLiteral("The client closed before the server acknowledged the update"));
    setStatus(QStateSyncClient::Unconnected);
    if (wasConnected)
        Q_EMIT q->disconnected();
}

void QStateSyncClientPrivate::onConnected()
{
    attemptConnected = true;
    const auto negotiated = socket->subprotocol() == QLatin1String(subprotocolV2)
            ? QStateSyncClient::ProtocolV2
            : QStateSyncClient::ProtocolV1;
    if (negotiated != protocol) {
        protocol = negotiated;
        Q_EMIT q->protocolVersionChanged();
    }
    setStatus(QStateSyncClient::Connected);
    Q_EMIT q->connected();
    if (!desiredState.isEmpty() && status == QStateSyncClient::Connected)
        join(desiredState);
}

void QStateSyncClientPrivate::onDisconnected()
{
    if (closing)
        return;
    const bool wasConnected = status == QStateSyncClient::Connected
            || status == QStateSyncClient::Joining || status == QStateSyncClient::Joined;
    joinedState.clear();
    resyncing = false;
    presence->clear();
    failPending(Error::ConnectionFailed,
                QStringLiteral("The connection closed before the server acknowledged the "
                               "update"));
    // A connection that never opened failed: the error signal (before or after this one)
    // says why.
    setStatus(attemptConnected && status != QStateSyncClient::Error ? QStateSyncClient::Unconnected
                                                                    : QStateSyncClient::Error);
    if (wasConnected)
        Q_EMIT q->disconnected();
}

void QStateSyncClientPrivate::onSocketError(QAbstractSocket::SocketError socketError)
{
    const bool handshaking = !attemptConnected;
    if (closing || errorReportedForAttempt)
        return;
    if (!handshaking && socketError == QAbstractSocket::RemoteHostClosedError)
        return; // an ordinary disconnect: disconnected() follows
    errorReportedForAttempt = true;
    const QString message = socket->errorString();
    // QWebSocket reports a refused upgrade only as text naming the HTTP status.
    const Error code = handshaking && message.contains(QLatin1String("401"))
            ? Error::Unauthorized
            : Error::ConnectionFailed;
    qCInfo(lcStateSyncClient).noquote() << "connection failed:" << message;
    setError(code, message);
    if (handshaking) {
        setStatus(QStateSyncClient::Error);
        socket->abort();
    }
    Q_EMIT q->errorOccurred(code, message);
}

void QStateSyncClientPrivate::join(const QString &stateIdentifier)
{
    setStatus(QStateSyncClient::Joining);
    socket->sendTextMessage(QString::fromUtf8(encodeConnectToState(stateIdentifier)));
}

qint64 QStateSyncClientPrivate::sendChange(int type, const QJsonObject &changes)
{
    if (status != QStateSyncClient::Joined) {
        const QString message = QStringLiteral("The client has not joined a state");
        setError(Error::NotConnected, message);
        Q_EMIT q->errorOccurred(Error::NotConnected, message);
        return -1;
    }
    const qint64 requestId = nextRequestId++;
    QByteArray message;
    if (protocol == QStateSyncClient::ProtocolV2) {
        message = type == MessageType::AppendToState ? encodeAppendToState(changes, requestId)
                                                     : encodeUpdateState(changes, requestId);
        pendingRequests.insert(requestId);
    } else if (type == MessageType::AppendToState) {
        // A v1 server knows no append: send the whole new arrays, as the original's
        // clients do (not atomic there).
        QJsonObject whole = value;
        QString failedKey;
        if (!QStateSyncMerge::applyAppend(whole, changes, &failedKey)) {
            const QString text = QStringLiteral("%1 is not an array").arg(failedKey);
            setError(Error::NotAnArray, text);
            Q_EMIT q->errorOccurred(Error::NotAnArray, text);
            return -1;
        }
        message = encodeUpdateState(QStateSyncMerge::topLevelValues(whole, changes),
                                    QJsonValue::Undefined);
    } else {
        message = encodeUpdateState(changes, QJsonValue::Undefined);
    }
    socket->sendTextMessage(QString::fromUtf8(message));
    return requestId;
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

void QStateSyncClientPrivate::failPending(Error code, const QString &message)
{
    const QSet<qint64> unacknowledged = std::exchange(pendingRequests, {});
    for (qint64 requestId : unacknowledged)
        Q_EMIT q->updateFailed(requestId, code, message);
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
    case MessageType::ProtocolError: {
        const Error code = errorOf(message.data,
                                   message.type == MessageType::ProtocolError
                                           ? Error::InvalidMessage
                                           : Error::UnsupportedMessageType);
        const QString text = message.data.value(QLatin1String("message")).toString();
        setError(code, text);
        Q_EMIT q->errorOccurred(code, text);
        break;
    }
    default:
        qCDebug(lcStateSyncClient) << "ignored message of unknown type" << message.type;
        break;
    }
}

void QStateSyncClientPrivate::handleEstablished(const QJsonObject &data)
{
    const QString identifier = data.value(QLatin1String("stateIdentifier")).toString(desiredState);
    const QString previousState = std::exchange(joinedState, identifier);
    // The server moved the client out of the state it was in: what it sent there will not
    // be acknowledged here.
    if (!previousState.isEmpty() && previousState != identifier)
        failPending(Error::NotJoined, leftBeforeAcknowledgement());
    // Even an answer to a join the application has replaced since is where the server
    // put the client: the copy follows it, so it is never another state's value.
    const QJsonObject newValue = data.value(QLatin1String("state")).toObject();
    mergeMode = protocol == QStateSyncClient::ProtocolV2
                    && data.value(QLatin1String("mergeMode")).toString() != QLatin1String("shallow")
            ? QStateSync::MergeMode::Deep
            : QStateSync::MergeMode::Shallow;
    const qint64 newVersion = data.value(QLatin1String("version")).toInteger(-1);
    const bool wasJoining = status == QStateSyncClient::Joining;

    if (valueState == identifier) {
        // Back in the same state (a resync, or a rejoin): tell listeners what changed.
        version = newVersion;
        replaceValue(newValue, QStateSyncMerge::changedKeys(value, newValue));
    } else {
        valueState = identifier;
        value = newValue;
        version = newVersion;
        map->reset(newValue.toVariantHash());
        Q_EMIT q->versionChanged();
    }
    resyncing = false;
    if (protocol == QStateSyncClient::ProtocolV2) {
        presence->reset(data.value(QLatin1String("presence")).toArray(),
                        data.value(QLatin1String("presenceId")).toInteger(-1));
        // Presence data belongs to a membership: bring it into the state just joined.
        if (previousState != identifier && !presenceData.isEmpty()) {
            socket->sendTextMessage(QString::fromUtf8(
                    encodeSetPresence(QJsonObject::fromVariantMap(presenceData))));
        }
    }
    if (identifier != desiredState)
        return; // still Joining: the answer to the join asked last comes next
    setStatus(QStateSyncClient::Joined);
    if (wasJoining)
        Q_EMIT q->joined(identifier, value.toVariantMap());
}

bool QStateSyncClientPrivate::versionInSequence(const QJsonObject &data)
{
    const QJsonValue newVersion = data.value(QLatin1String("version"));
    if (!newVersion.isDouble() || version < 0)
        return true; // a v1 server sends no versions
    const qint64 next = newVersion.toInteger();
    if (next <= version)
        return false;
    if (next == version + 1)
        return true;
    qCInfo(lcStateSyncClient) << "missed versions" << version + 1 << "to" << next - 1 << "of state"
                              << joinedState << "; resyncing";
    resync();
    return false;
}

void QStateSyncClientPrivate::resync()
{
    resyncing = true;
    socket->sendTextMessage(QString::fromUtf8(encodeConnectToState(joinedState)));
}

void QStateSyncClientPrivate::handleChange(int type, const QJsonObject &data)
{
    if (joinedState.isEmpty() || resyncing)
        return;
    if (!versionInSequence(data))
        return;
    const bool isAppend = type == MessageType::StateAppended;
    const QJsonObject changes
            = data.value(isAppend ? QLatin1String("appends") : QLatin1String("updates")).toObject();
    QJsonObject newValue = value;
    if (isAppend) {
        if (!QStateSyncMerge::applyAppend(newValue, changes)) {
            resync();
            return;
        }
    } else {
        QStateSyncMerge::apply(newValue, changes,
                               protocol == QStateSyncClient::ProtocolV1
                                       ? QStateSync::MergeMode::Shallow
                                       : mergeMode);
    }
    const QJsonValue newVersion = data.value(QLatin1String("version"));
    if (newVersion.isDouble())
        version = newVersion.toInteger();
    replaceValue(newValue, changes.keys());

    const QJsonValue requestId = data.value(QLatin1String("requestId"));
    if (requestId.isDouble() && pendingRequests.remove(requestId.toInteger()))
        Q_EMIT q->updateAcknowledged(requestId.toInteger(), version);
}

void QStateSyncClientPrivate::replaceValue(const QJsonObject &newValue, const QStringList &touched)
{
    QVariantMap updates;
    QVariantMap previous;
    QVariantHash changedForMap;
    QStringList removed;
    for (const QString &key : touched) {
        previous.insert(key, value.value(key).toVariant());
        const QJsonValue current = newValue.value(key);
        if (current.isUndefined()) {
            updates.insert(key, QVariant());
            removed.append(key);
        } else {
            const QVariant converted = current.toVariant();
            updates.insert(key, converted);
            changedForMap.insert(key, converted);
        }
    }
    value = newValue;
    map->set(changedForMap, removed);
    Q_EMIT q->versionChanged();
    if (touched.isEmpty())
        return;
    Q_EMIT q->stateUpdated(updates, previous);
    // A listener may add or remove listeners: call the ones there were when this began.
    const QList<Listener> current = listeners;
    for (const Listener &listener : current) {
        const bool matches = listener.properties.isEmpty()
                || std::any_of(touched.cbegin(), touched.cend(), [&](const QString &key) {
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
        joinedState.clear();
    }
    setDesiredState(joinedState);
    setStatus(joinedState.isEmpty() ? QStateSyncClient::Connected : QStateSyncClient::Joined);
    Q_EMIT q->joinFailed(identifier, code, message);
    Q_EMIT q->errorOccurred(code, message);
}

void QStateSyncClientPrivate::handleUpdateFailed(const QJsonObject &data)
{
    const Error code = errorOf(data, Error::UpdateRefused);
    const QString message = data.value(QLatin1String("message")).toString();
    const QJsonValue requestId = data.value(QLatin1String("requestId"));
    setError(code, message);
    if (requestId.isDouble() && pendingRequests.remove(requestId.toInteger()))
        Q_EMIT q->updateFailed(requestId.toInteger(), code, message);
    Q_EMIT q->errorOccurred(code, message);
}

void QStateSyncClientPrivate::handleLeft(const QJsonObject &data)
{
    const QString identifier = data.value(QLatin1String("stateIdentifier")).toString();
    const bool wasJoined = !joinedState.isEmpty() && identifier == joinedState;
    if (wasJoined) {
        joinedState.clear();
        presence->clear();
        failPending(Error::NotJoined, leftBeforeAcknowledgement());
    }
    // Also the answer to a leave that only cancelled a join still waiting for its hook.
    if (status == QStateSyncClient::Joined || status == QStateSyncClient::Joining)
        setStatus(desiredState.isEmpty() ? QStateSyncClient::Connected : QStateSyncClient::Joining);
    if (wasJoined)
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
    joinedState.clear();
    resyncing = false;
    presence->clear();
    failPending(Error::StateRemoved, QStringLiteral("The state was removed"));
    if (desiredState == identifier) {
        setDesiredState(QString());
        setStatus(QStateSyncClient::Connected);
    }
    Q_EMIT q->stateRemoved(identifier, reason);
}
