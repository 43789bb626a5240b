// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// QStateSyncer's limits (what one client, one state and the whole server may use) and
// the counters that show how the server runs against them.

#include "qstatesyncer.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"

#include <cmath>

/*!
    \property QStateSyncer::maxMessageSize
    \brief the largest message, in bytes, that a client may send. Default: 1 MiB.

    A larger message closes the connection with WebSocket close code 1009. A change
    applies to connections opened afterwards.
*/

/*!
    \property QStateSyncer::maxNestingDepth
    \brief how deeply a client's message may nest objects and arrays, the message's own
    envelope included. Default: 64.

    A deeper message is refused with the code \c nesting_too_deep, whatever it
    contained, and the connection stays usable. Updates that hooks rewrite are held to
    the same rule.
*/

/*!
    \property QStateSyncer::handshakeTimeout
    \brief the milliseconds a connection has to send its HTTP request and be authorized.
    Default: 10000.
*/

/*!
    \fn void QStateSyncer::maxMessageSizeChanged()

    This signal is emitted when maxMessageSize changes.
*/

/*!
    \fn void QStateSyncer::maxNestingDepthChanged()

    This signal is emitted when maxNestingDepth changes.
*/

/*!
    \fn void QStateSyncer::handshakeTimeoutChanged()

    This signal is emitted when handshakeTimeout changes.
*/

/*!
    \property QStateSyncer::heartbeatInterval
    \brief the milliseconds between two pings of every connection; 0 switches the
    heartbeat off. Default: 30000.

    At every interval the server pings each connection (a WebSocket ping frame, which
    every WebSocket client answers on its own). A connection that has shown no sign of
    life for a whole interval, neither a pong nor any other byte, nor taken any of the
    output waiting for it, is aborted and logged: its client leaves its state, and the
    state's selfDestruct hook is asked, as on any disconnect. A dead peer is thus found
    within one to two intervals. One timer serves all connections.
*/

/*!
    \property QStateSyncer::maxStateSize
    \brief the largest a state may grow, in bytes of its compact JSON; 0 means no limit.
    Default: 16 MiB (16,777,216 bytes).

    A change (from a client or from updateStateValue() and appendToState()) that would
    make a state larger than this, and larger than it is, is refused with the code
    \c state_too_large, and nothing of it is applied. A change that shrinks a state that
    is over the limit (after the limit was lowered, or an initial value larger than it)
    is applied.

    The size is kept up to date per top-level key: a change costs the encoding of the
    top-level values it touches, an append only that of its items; the whole state is
    encoded only when it is created. sizeOfState() tells the size.
*/

/*!
    \property QStateSyncer::maxClientsPerState
    \brief how many clients may be joined to one state at a time; 0 means no limit.
    Default: 1000.

    Every change of a state is sent to each of its clients. A join beyond the limit is
    answered with the code \c state_full (on STATE_CONNECTION_ERROR), after the join's
    permission checks, so that only a client that may join learns that the state exists.
    A client already joined that asks again (to resynchronize) is not refused.
*/

/*!
    \property QStateSyncer::maxClients
    \brief how many WebSocket clients the server takes; 0 means no limit. Default: 10000.

    A WebSocket upgrade beyond it is answered \c{HTTP 503 Service Unavailable} with a
    \c{Retry-After: 5} header, before authorization, and logged (at most one line a
    second). Plain HTTP requests (httpRequested()) are still served, so health checks
    work on a full server. Each client needs a file descriptor: raise the process's limit
    (\c{ulimit -n}) to match.
*/

/*!
    \property QStateSyncer::updateRate
    \brief how many updates and appends per second one client may send, on average; 0
    means no limit. Default: 100.

    Each connection has a token bucket that holds up to updateBurst tokens and gains
    updateRate tokens a second; each update or append takes one. One sent without a
    token is refused with the code \c rate_limited (on STATE_UPDATE_FAILED, with its
    request id) and is not applied; v1 clients get the same answer. The rate may be
    fractional: 0.5 is one update every two seconds. Changes from the server side are not
    limited.
*/

/*!
    \property QStateSyncer::updateBurst
    \brief how many updates one client may send at once before updateRate applies.
    Default: 200; at least 1.

    A client starts with a full bucket.
*/

/*!
    \property QStateSyncer::maxPendingHandshakes
    \brief how many connections may be in their handshake (TLS, HTTP request,
    authorization, WebSocket handshake) at once; 0 means no limit. Default: 1000.

    A plain TCP connection beyond it is answered \c{HTTP 503} with \c{Retry-After: 5} at
    once and closed, and logged (at most one line a second). For wss, connections still
    in their TLS handshake are limited to this number as well, apart from those past it;
    beyond it the server stops accepting until some finish, and new connections wait in
    the system's listen queue. Together with
    handshakeTimeout, this bounds what connections that never complete their handshake
    can hold.
*/

/*!
    \property QStateSyncer::maxPendingOutput
    \brief how many bytes may wait to be sent to one client before the server stops
    queueing state changes for it; 0 means no limit. Default: 4 MiB (4,194,304 bytes).

    A client that reads more slowly than its state changes (a slow link, a stalled
    process) would otherwise make the server hold ever more data for it. While more than
    this waits for a client (measured on its socket, TLS included), the server sends it no
    more changes; it keeps what the client missed in the least that brings it up to date
    (QStateSync's protocol documentation, section 6.6, tells how), and sends that in one
    message once the client has read down to a quarter of the limit. Other clients of the
    state are not affected, and the memory a slow client holds stays around this limit
    plus one message.

    Answers to the client's own requests are always sent. A client that keeps sending
    requests while it reads nothing, so that the answers waiting for it pass this limit,
    is disconnected and logged.

    A new limit applies at once: a client whose changes were held back under the old one
    gets what it missed as soon as what waits for it is within a quarter of the new limit,
    or at once when the new value is 0.
*/

/*!
    \property QStateSyncer::revealStateExistence
    \brief whether errors tell a client that may not join a state that it exists.
    Default: \c false.

    When \c false, a join of a state that does not exist, and one refused by the state's
    allowConnectingClient filter or by a joinRequested() handler that gave no rejection
    message, get the same answer, byte for byte: the code \c state_not_found with the
    message \c{State ID does not exist or may not be joined}. A rejection message given
    by a handler is the application's choice and is sent as it is, with the code
    \c join_refused. A handler that defers the answer reveals, by the delay, that it was
    asked: decide in allowConnectingClient where that matters.

    When \c true, the answers are distinct: \c state_not_found (\c{State ID does not
    exist}) and \c join_refused (\c{Client is not allowed to connect to state}).
*/

/*!
    \fn void QStateSyncer::heartbeatIntervalChanged()

    This signal is emitted when heartbeatInterval changes.
*/

/*!
    \fn void QStateSyncer::maxStateSizeChanged()

    This signal is emitted when maxStateSize changes.
*/

/*!
    \fn void QStateSyncer::maxClientsPerStateChanged()

    This signal is emitted when maxClientsPerState changes.
*/

/*!
    \fn void QStateSyncer::maxClientsChanged()

    This signal is emitted when maxClients changes.
*/

/*!
    \fn void QStateSyncer::updateRateChanged()

    This signal is emitted when updateRate changes.
*/

/*!
    \fn void QStateSyncer::updateBurstChanged()

    This signal is emitted when updateBurst changes.
*/

/*!
    \fn void QStateSyncer::maxPendingHandshakesChanged()

    This signal is emitted when maxPendingHandshakes changes.
*/

/*!
    \fn void QStateSyncer::maxPendingOutputChanged()

    This signal is emitted when maxPendingOutput changes.
*/

/*!
    \fn void QStateSyncer::revealStateExistenceChanged()

    This signal is emitted when revealStateExistence changes.
*/

qint64 QStateSyncer::maxMessageSize() const
{
    return d->transport->limits().maxMessageSize;
}

void QStateSyncer::setMaxMessageSize(qint64 bytes)
{
    QStateSyncTransport::Limits limits = d->transport->limits();
    if (bytes <= 0 || limits.maxMessageSize == bytes)
        return;
    limits.maxMessageSize = bytes;
    d->transport->setLimits(limits);
    d->syncIoSettings();
    Q_EMIT maxMessageSizeChanged();
}

int QStateSyncer::maxNestingDepth() const
{
    return d->maxNestingDepth;
}

void QStateSyncer::setMaxNestingDepth(int depth)
{
    // Three levels are the envelope of the smallest update: {"data":{"updates":{}}}.
    depth = std::max(depth, 3);
    if (d->maxNestingDepth == depth)
        return;
    d->maxNestingDepth = depth;
    d->syncIoSettings();
    Q_EMIT maxNestingDepthChanged();
}

int QStateSyncer::handshakeTimeout() const
{
    return d->transport->limits().handshakeTimeoutMs;
}

void QStateSyncer::setHandshakeTimeout(int milliseconds)
{
    QStateSyncTransport::Limits limits = d->transport->limits();
    if (milliseconds <= 0 || limits.handshakeTimeoutMs == milliseconds)
        return;
    limits.handshakeTimeoutMs = milliseconds;
    d->transport->setLimits(limits);
    Q_EMIT handshakeTimeoutChanged();
}

int QStateSyncer::heartbeatInterval() const
{
    return d->limits.heartbeatIntervalMs;
}

void QStateSyncer::setHeartbeatInterval(int milliseconds)
{
    if (milliseconds < 0 || d->limits.heartbeatIntervalMs == milliseconds)
        return;
    d->limits.heartbeatIntervalMs = milliseconds;
    d->restartHeartbeat();
    Q_EMIT heartbeatIntervalChanged();
}

qint64 QStateSyncer::maxStateSize() const
{
    return d->limits.maxStateSize;
}

void QStateSyncer::setMaxStateSize(qint64 bytes)
{
    if (bytes < 0 || d->limits.maxStateSize == bytes)
        return;
    d->limits.maxStateSize = bytes;
    Q_EMIT maxStateSizeChanged();
}

int QStateSyncer::maxClientsPerState() const
{
    return d->limits.maxClientsPerState;
}

void QStateSyncer::setMaxClientsPerState(int clients)
{
    if (clients < 0 || d->limits.maxClientsPerState == clients)
        return;
    d->limits.maxClientsPerState = clients;
    Q_EMIT maxClientsPerStateChanged();
}

int QStateSyncer::maxClients() const
{
    return d->transport->limits().maxClients;
}

void QStateSyncer::setMaxClients(int clients)
{
    QStateSyncTransport::Limits limits = d->transport->limits();
    if (clients < 0 || limits.maxClients == clients)
        return;
    limits.maxClients = clients;
    d->transport->setLimits(limits);
    Q_EMIT maxClientsChanged();
}

double QStateSyncer::updateRate() const
{
    return d->limits.updateRate;
}

void QStateSyncer::setUpdateRate(double updatesPerSecond)
{
    if (!std::isfinite(updatesPerSecond) || updatesPerSecond < 0
        || d->limits.updateRate == updatesPerSecond) {
        return;
    }
    d->limits.updateRate = updatesPerSecond;
    Q_EMIT updateRateChanged();
}

int QStateSyncer::updateBurst() const
{
    return d->limits.updateBurst;
}

void QStateSyncer::setUpdateBurst(int updates)
{
    if (updates < 1 || d->limits.updateBurst == updates)
        return;
    d->limits.updateBurst = updates;
    Q_EMIT updateBurstChanged();
}

int QStateSyncer::maxPendingHandshakes() const
{
    return d->transport->limits().maxPendingHandshakes;
}

void QStateSyncer::setMaxPendingHandshakes(int handshakes)
{
    QStateSyncTransport::Limits limits = d->transport->limits();
    if (handshakes < 0 || limits.maxPendingHandshakes == handshakes)
        return;
    limits.maxPendingHandshakes = handshakes;
    d->transport->setLimits(limits);
    Q_EMIT maxPendingHandshakesChanged();
}

qint64 QStateSyncer::maxPendingOutput() const
{
    return d->limits.maxPendingOutput;
}

void QStateSyncer::setMaxPendingOutput(qint64 bytes)
{
    if (bytes < 0 || d->limits.maxPendingOutput == bytes)
        return;
    d->limits.maxPendingOutput = bytes;
    d->syncIoSettings();
    // A connection conflating under the old limit may be within the new one already. The
    // I/O threads only tell when a queue falls past the limit's low-water mark, which it
    // may never do again.
    for (QStateSyncConnection *connection : std::as_const(d->connections))
        connection->outputTaken(connection->pendingOutput());
    Q_EMIT maxPendingOutputChanged();
}

bool QStateSyncer::revealStateExistence() const
{
    return d->limits.revealStateExistence;
}

void QStateSyncer::setRevealStateExistence(bool reveal)
{
    if (d->limits.revealStateExistence == reveal)
        return;
    d->limits.revealStateExistence = reveal;
    Q_EMIT revealStateExistenceChanged();
}

/*!
    Returns how many changes (updates and appends) the server applied since it was
    created, from clients and from the server side.
*/
quint64 QStateSyncer::updatesApplied() const
{
    return d->counters.updatesApplied;
}

/*!
    Returns how many changes the server refused since it was created: by a hook, for
    being too deep or appending to something that is not an array, for going over
    updateRate, or for making a state larger than maxStateSize.
*/
quint64 QStateSyncer::updatesRefused() const
{
    return d->counters.updatesRefused;
}

/*!
    Returns how many WebSocket messages clients sent since the server was created.
*/
quint64 QStateSyncer::messagesReceived() const
{
    return d->counters.messagesReceived;
}

/*!
    Returns how many client messages were refused for not being valid protocol messages
    (invalid JSON, wrong types, unknown types, binary frames, too deep, ...), and joins
    refused because the state had maxClientsPerState clients.
*/
quint64 QStateSyncer::messagesRefused() const
{
    return d->counters.messagesRefused;
}

/*!
    Returns the bytes of message text clients sent since the server was created.
*/
quint64 QStateSyncer::bytesReceived() const
{
    return d->counters.bytesReceived;
}

/*!
    Returns the bytes of WebSocket frames the server sent to clients since it was
    created (frame headers included).
*/
quint64 QStateSyncer::bytesSent() const
{
    return d->counters.bytesSent;
}

/*!
    Returns how many connections the server answered with HTTP 503 since it was created
    because maxClients or maxPendingHandshakes was reached.
*/
quint64 QStateSyncer::connectionsRefused() const
{
    return d->transport->connectionsRefused();
}

/*!
    Returns how many client connections the server dropped since it was created: those
    that showed no sign of life for a heartbeatInterval, and those that kept sending
    requests without reading the answers (see maxPendingOutput).
*/
quint64 QStateSyncer::connectionsDropped() const
{
    return d->counters.connectionsDropped;
}

/*!
    Returns how many bytes wait to be sent to the clients now, all connections together:
    what their peers have not read yet. See maxPendingOutput.
*/
qint64 QStateSyncer::pendingOutputBytes() const
{
    qint64 total = 0;
    for (const QStateSyncConnection *connection : std::as_const(d->connections))
        total += connection->pendingOutput();
    return total;
}
