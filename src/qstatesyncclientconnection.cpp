// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// QStateSyncClientPrivate, part one: the connection. Opening the WebSocket, the heartbeat
// that finds a dead server, and reconnection with backoff over the endpoints.

#include "qstatesyncclient_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncpresencemodel.h"

#include <QtCore/qrandom.h>
#include <QtCore/qurlquery.h>
#include <QtWebSockets/qwebsockethandshakeoptions.h>

#include <algorithm>

using namespace QStateSyncProtocol;
using QStateSync::Error;

namespace {
bool isOpen(QStateSyncClient::Status status)
{
    return status == QStateSyncClient::Connected || status == QStateSyncClient::Joining
            || status == QStateSyncClient::Joined;
}

// The identifier and token go in the query, percent-encoded fully: the original server
// decodes '+' as a space.
QUrl connectionUrl(const QUrl &url, const QString &clientIdentifier, const QString &accessToken)
{
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
    return target;
}
} // namespace

void QStateSyncClientPrivate::setActive(bool newActive)
{
    if (active == newActive)
        return;
    active = newActive;
    Q_EMIT q->activeChanged();
}

void QStateSyncClientPrivate::setReconnectAttempt(int attempt)
{
    if (reconnectAttempt == attempt)
        return;
    reconnectAttempt = attempt;
    Q_EMIT q->reconnectAttemptChanged();
}

QUrl QStateSyncClientPrivate::currentUrl() const
{
    return urls.value(endpointIndex);
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
    if (!active || status == QStateSyncClient::Unconnected || status == QStateSyncClient::Error)
        return;
    // New settings for the connection: a reconnection from the first endpoint, not a close,
    // so that what waits in the queue is sent once the client is back.
    takeDown(QStringLiteral("The client reconnected with new settings before the server "
                            "acknowledged the update; the server may have applied it"));
    endpointIndex = 0;
    roundStart = 0;
    failedRounds = 0;
    setStatus(QStateSyncClient::Reconnecting);
    reconnectTimer->start(0);
}

void QStateSyncClientPrivate::takeDown(const QString &inFlightMessage)
{
    const bool wasConnected = isOpen(status);
    endSession();
    closing = true;
    socket->abort();
    closing = false;
    // The status goes first: a slot that sends an update from updateFailed() finds it
    // queued (or refused), not written to the socket just taken down.
    setStatus(QStateSyncClient::Reconnecting);
    const quint64 current = generation;
    failPending(QStateSync::Error::ConnectionLost, inFlightMessage, QString(), true);
    if (wasConnected && current == generation)
        Q_EMIT q->disconnected();
}

void QStateSyncClientPrivate::open()
{
    if (isOpen(status) || status == QStateSyncClient::Connecting
        || status == QStateSyncClient::Reconnecting) {
        return;
    }
    const bool urlsValid = !urls.isEmpty()
            && std::all_of(urls.cbegin(), urls.cend(),
                           [](const QUrl &url) { return url.isValid(); });
    if (!urlsValid || clientIdentifier.isEmpty()) {
        const QString message = QStringLiteral("A valid url and a clientIdentifier are required");
        setError(Error::ConnectionFailed, message);
        setStatus(QStateSyncClient::Error);
        failAllPending(Error::ConnectionFailed, message);
        Q_EMIT q->errorOccurred(Error::ConnectionFailed, message);
        return;
    }
    endpointIndex = 0;
    roundStart = 0;
    failedRounds = 0;
    setReconnectAttempt(0);
    startAttempt(QStateSyncClient::Connecting);
}

void QStateSyncClientPrivate::startAttempt(QStateSyncClient::Status attemptStatus)
{
    reconnectTimer->stop();
    const QUrl previous = currentUrl();
    endpointIndex = std::clamp<qsizetype>(endpointIndex, 0, urls.size() - 1);
    QWebSocketHandshakeOptions options;
    if (requestedProtocol == QStateSyncClient::ProtocolV2)
        options.setSubprotocols(
                {QString::fromLatin1(subprotocolV1), QString::fromLatin1(subprotocolV2)});
    if (!sslConfiguration.isNull())
        socket->setSslConfiguration(sslConfiguration);
    errorReportedForAttempt = false;
    attemptConnected = false;
    closing = false;
    lossReason.clear();
    setStatus(attemptStatus);
    if (currentUrl() != previous)
        Q_EMIT q->currentUrlChanged();
    // An endpoint that takes the TCP connection and never answers the upgrade (or a
    // blackholed address) must not hold the client: the attempt has a deadline.
    if (connectTimeout > 0)
        attemptTimer->start(connectTimeout);
    socket->open(connectionUrl(currentUrl(), clientIdentifier, accessToken), options);
}

void QStateSyncClientPrivate::close()
{
    const bool wasConnected = isOpen(status);
    endSession();
    closing = true;
    if (socket->state() == QAbstractSocket::ConnectedState)
        socket->close();
    else
        socket->abort();
    setReconnectAttempt(0);
    // The status goes first: an update sent from a slot of updateFailed() is refused.
    setStatus(QStateSyncClient::Unconnected);
    const quint64 current = generation;
    failAllPending(Error::ConnectionFailed,
                   QStringLiteral("The client closed before the server acknowledged the update"));
    if (wasConnected && current == generation)
        Q_EMIT q->disconnected();
}

void QStateSyncClientPrivate::endSession()
{
    ++generation;
    reconnectTimer->stop();
    heartbeatTimer->stop();
    attemptTimer->stop();
    forgetMembership();
    resyncAskedFor.clear();
}

bool QStateSyncClientPrivate::mayReconnect() const
{
    return autoReconnect && active && !urls.isEmpty();
}

void QStateSyncClientPrivate::onConnected()
{
    attemptTimer->stop();
    attemptConnected = true;
    connectedSince.start();
    const auto negotiated = socket->subprotocol() == QLatin1String(subprotocolV2)
            ? QStateSyncClient::ProtocolV2
            : QStateSyncClient::ProtocolV1;
    if (negotiated != protocol) {
        protocol = negotiated;
        Q_EMIT q->protocolVersionChanged();
    }
    // A v1 server acknowledges nothing: the copy then shows only what the server sent.
    setOptimistic(optimisticUpdates);
    heardSinceLastPing = true;
    if (heartbeatInterval > 0)
        heartbeatTimer->start(heartbeatInterval);
    setStatus(QStateSyncClient::Connected);
    if (desiredState.isEmpty())
        setReconnectAttempt(0);
    Q_EMIT q->connected();
    if (!desiredState.isEmpty() && status == QStateSyncClient::Connected)
        join(desiredState);
}

void QStateSyncClientPrivate::onDisconnected()
{
    if (closing)
        return;
    heartbeatTimer->stop();
    if (!attemptConnected) {
        // The handshake failed; the error signal may have said why already.
        if (!errorReportedForAttempt)
            attemptFailed(Error::ConnectionFailed, socket->errorString());
        return;
    }
    connectionLost();
}

void QStateSyncClientPrivate::onSocketError(QAbstractSocket::SocketError socketError)
{
    if (closing || errorReportedForAttempt)
        return;
    const QString message = socket->errorString();
    if (!attemptConnected) {
        // QWebSocket reports a refused upgrade only as text naming the HTTP status.
        attemptFailed(message.contains(QLatin1String("401")) ? Error::Unauthorized
                                                             : Error::ConnectionFailed,
                      message);
        return;
    }
    if (socketError == QAbstractSocket::RemoteHostClosedError)
        return; // an ordinary disconnect: disconnected() follows
    errorReportedForAttempt = true;
    qCInfo(lcStateSyncClient).noquote() << "connection error:" << message;
    lossReason = message;
    setError(Error::ConnectionFailed, message);
    Q_EMIT q->errorOccurred(Error::ConnectionFailed, message);
}

void QStateSyncClientPrivate::attemptFailed(Error code, const QString &message)
{
    errorReportedForAttempt = true;
    attemptTimer->stop();
    closing = true; // what the socket says while it is taken down is said already
    socket->abort();
    closing = false;
    qCInfo(lcStateSyncClient).noquote()
            << "could not connect to" << currentUrl().toDisplayString() << ":" << message;
    setError(code, message);
    // A refused authorization does not get better by asking again with the same token.
    if (code != Error::Unauthorized && mayReconnect()) {
        scheduleReconnect(true);
        Q_EMIT q->errorOccurred(code, message);
        return;
    }
    // Given up: no longer active, so that setting active (or a binding) opens again.
    setStatus(QStateSyncClient::Error);
    setActive(false);
    const quint64 current = generation;
    failAllPending(code, QStringLiteral("The client could not connect: %1").arg(message));
    if (current == generation)
        Q_EMIT q->errorOccurred(code, message);
}

void QStateSyncClientPrivate::connectionLost()
{
    const bool wasConnected = isOpen(status);
    const QString reason
            = lossReason.isEmpty() ? QStringLiteral("The connection was lost") : lossReason;
    qCInfo(lcStateSyncClient).noquote() << reason;
    endSession();
    // The status goes first: an update sent from a slot of updateFailed() is queued for
    // the rejoin (or refused when the client gives up), never written to a dead socket.
    const bool reconnect = mayReconnect();
    if (reconnect) {
        setError(Error::ConnectionLost, reason);
        scheduleReconnect(false);
    } else {
        setStatus(QStateSyncClient::Unconnected);
        setActive(false);
    }
    const quint64 current = generation;
    // At most once: an update on its way when the connection went may or may not have
    // been applied. The rejoin shows the server's value either way.
    failPending(Error::ConnectionLost,
                QStringLiteral("The connection was lost before the server acknowledged the "
                               "update; the server may have applied it"),
                QString(), true);
    if (!reconnect && current == generation) {
        failAllPending(Error::NotConnected,
                       QStringLiteral("The connection was lost before the update was sent"));
    }
    if (wasConnected && current == generation)
        Q_EMIT q->disconnected();
}

void QStateSyncClientPrivate::scheduleReconnect(bool afterFailure)
{
    int exponent = 0;
    bool wait = true;
    if (afterFailure) {
        // The next endpoint at once; once every endpoint failed, a longer wait each round.
        endpointIndex = (endpointIndex + 1) % urls.size();
        if (endpointIndex == roundStart)
            exponent = failedRounds++;
        else
            wait = false;
    } else {
        // A loss. A connection that lasted starts the backoff over; one that the server
        // dropped soon after it opened counts as a failed round, so that a server that
        // takes clients and drops them is not hammered.
        roundStart = endpointIndex;
        if (connectedSince.isValid()
            && connectedSince.elapsed() > std::max<qint64>(maxReconnectDelay, 1000)) {
            failedRounds = 0;
        }
        exponent = failedRounds++;
    }
    int delay = 0;
    if (wait && reconnectDelay > 0) {
        // Exponential backoff with "equal jitter": half the step fixed, half random, so
        // that clients dropped together do not come back together.
        const qint64 step = std::min<qint64>(qint64(reconnectDelay) << std::min(exponent, 20),
                                             std::max(maxReconnectDelay, reconnectDelay));
        const qint64 half = step / 2;
        delay = int(step - half + QRandomGenerator::global()->bounded(half + 1));
    }
    setReconnectAttempt(reconnectAttempt + 1);
    setStatus(QStateSyncClient::Reconnecting);
    qCDebug(lcStateSyncClient).noquote() << "reconnecting to" << currentUrl().toDisplayString()
                                         << "in" << delay << "ms, attempt" << reconnectAttempt;
    reconnectTimer->start(delay);
}

void QStateSyncClientPrivate::onHeartbeat()
{
    if (socket->state() != QAbstractSocket::ConnectedState)
        return;
    if (!heardSinceLastPing) {
        lossReason
                = QStringLiteral("The server did not answer within %1 ms").arg(heartbeatInterval);
        heartbeatTimer->stop();
        closing = true; // the loss is handled here, whatever the socket signals meanwhile
        socket->abort();
        closing = false;
        connectionLost();
        return;
    }
    heardSinceLastPing = false;
    socket->ping();
}
