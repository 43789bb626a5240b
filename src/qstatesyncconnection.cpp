// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncserverstate_p.h"

#include <QtNetwork/qsslsocket.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtWebSockets/qwebsocket.h>

QStateSyncConnection::QStateSyncConnection(QStateSyncerPrivate *server, QWebSocket *webSocket,
                                           QTcpSocket *tcpSocket,
                                           const QStateSyncIdentity &identity, quint64 id)
    : m_server(server)
    , m_webSocket(webSocket)
    , m_tcpSocket(tcpSocket)
    , m_identity(identity)
    , m_id(id)
    , m_v2(webSocket->subprotocol() == QLatin1String(QStateSyncProtocol::subprotocolV2))
{
    // Own the socket too, so that it goes away with the connection whatever QWebSocket
    // does with the socket it was upgraded from.
    webSocket->setParent(this);
    tcpSocket->setParent(this);
    connect(webSocket, &QWebSocket::textMessageReceived, this,
            &QStateSyncConnection::onTextMessage);
    connect(webSocket, &QWebSocket::binaryMessageReceived, this,
            &QStateSyncConnection::onBinaryMessage);
    connect(webSocket, &QWebSocket::disconnected, this, &QStateSyncConnection::onDisconnected);
    // Any byte from the peer, a pong or part of a message, shows it is alive.
    connect(tcpSocket, &QIODevice::readyRead, this, &QStateSyncConnection::onBytesReceived);
    // Bytes the kernel takes while a backlog waits are bytes the peer has read. Under TLS,
    // bytesWritten() only says that plain text went to the encryption.
    if (auto *ssl = qobject_cast<QSslSocket *>(tcpSocket)) {
        connect(ssl, &QSslSocket::encryptedBytesWritten, this, [this] { onOutputTaken(true); });
        connect(ssl, &QIODevice::bytesWritten, this, [this] { onOutputTaken(false); });
    } else {
        connect(tcpSocket, &QIODevice::bytesWritten, this, [this] { onOutputTaken(true); });
    }
}

QStateSyncConnection::~QStateSyncConnection() = default;

QString QStateSyncConnection::peerDescription() const
{
    return QStringLiteral("%1 (%2:%3)")
            .arg(loggable(m_identity.clientIdentifier), m_webSocket->peerAddress().toString())
            .arg(m_webSocket->peerPort());
}

QJsonObject QStateSyncConnection::presenceEntry() const
{
    return QJsonObject{{QLatin1String("id"), qint64(m_id)},
                       {QLatin1String("clientIdentifier"), m_identity.clientIdentifier},
                       {QLatin1String("information"), publicInformation},
                       {QLatin1String("data"), presenceData}};
}

void QStateSyncConnection::setJoinedState(const QString &stateIdentifier)
{
    if (stateIdentifier != m_joinedState)
        m_conflation.clear();
    m_joinedState = stateIdentifier;
}

void QStateSyncConnection::send(const QByteArray &message)
{
    const QByteArray frame = QStateSyncProtocol::textFrame(message);
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (limit > 0 && pendingOutput() > limit)
        chargeWhileCongested(frame.size());
    sendFrame(frame);
}

void QStateSyncConnection::sendFrame(const QByteArray &frame)
{
    // QWebSocket can only send a QString, which it converts to UTF-8 and copies for every
    // peer. A server's frames are not masked, so the same bytes serve every peer: write
    // them to the socket under the WebSocket directly. QWebSocket writes its own frames
    // (pings, pongs, close) whole and synchronously on this thread, so frames never
    // interleave.
    if (m_gone || m_dropping || !m_tcpSocket
        || m_webSocket->state() != QAbstractSocket::ConnectedState) {
        return;
    }
    m_server->counters.bytesSent += quint64(frame.size());
    m_tcpSocket->write(frame);
}

void QStateSyncConnection::sendEstablished(const QStateSyncServerState &state)
{
    if (isCongested()) {
        m_conflation.requireSnapshot();
        return;
    }
    sendFrame(QStateSyncProtocol::textFrame(QStateSyncProtocol::encodeConnectionEstablished(
            state.identifier, state.value, state.version, state.options.mergeMode(),
            state.presence(), m_v2 ? qint64(m_id) : -1)));
}

void QStateSyncConnection::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    m_webSocket->close(code, reason);
}

qint64 QStateSyncConnection::pendingOutput() const
{
    if (!m_tcpSocket)
        return 0;
    qint64 pending = m_tcpSocket->bytesToWrite();
    if (const auto *ssl = qobject_cast<const QSslSocket *>(m_tcpSocket.data()))
        pending += ssl->encryptedBytesToWrite();
    return pending;
}

bool QStateSyncConnection::isCongested()
{
    if (m_conflation.isActive())
        return true;
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (m_gone || limit <= 0)
        return false;
    const qint64 pending = pendingOutput();
    if (pending <= limit)
        return false;
    m_conflation.start();
    quint64 heldBack = 0;
    if (m_congestionLog.allow(&heldBack, 10000)) {
        qCInfo(lcStateSyncServer).noquote().nospace()
                << "client " << peerDescription() << " has " << pending
                << " bytes waiting, more than " << limit
                << ": conflating its updates until it catches up"
                << (heldBack ? QStringLiteral(" (%1 more times since the last line)").arg(heldBack)
                             : QString());
    }
    return true;
}

void QStateSyncConnection::conflateChange(const QJsonObject &patch, QStateSync::MergeMode mode,
                                          const QJsonValue &ownRequestId)
{
    // The patch's cap is the queue's limit: past it, a snapshot is likely no larger.
    m_conflation.addPatch(patch, mode, m_server->limits.maxPendingOutput);
    if (!ownRequestId.isUndefined()) {
        m_conflation.acknowledge(ownRequestId);
        chargeWhileCongested(QStateSyncProtocol::toJson(ownRequestId).size() + 1);
    }
}

void QStateSyncConnection::conflateKeys(const QJsonObject &changes, const QJsonValue &ownRequestId)
{
    m_conflation.addKeys(changes);
    if (!ownRequestId.isUndefined()) {
        m_conflation.acknowledge(ownRequestId);
        chargeWhileCongested(QStateSyncProtocol::toJson(ownRequestId).size() + 1);
    }
}

void QStateSyncConnection::conflatePresence()
{
    m_conflation.requireSnapshot();
}

void QStateSyncConnection::chargeWhileCongested(qint64 bytes)
{
    // Conflation bounds what the state sends; answers grow with the client's requests.
    // A client that keeps asking while it reads nothing would make them grow forever.
    m_owedWhileCongested += bytes;
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (m_dropping || limit <= 0 || m_owedWhileCongested <= limit)
        return;
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "client " << peerDescription() << " does not read: " << m_owedWhileCongested
            << " bytes of answers wait behind a full queue; dropping it";
    // Dropped from the event loop, not from inside whatever is sending now.
    m_dropping = true;
    QMetaObject::invokeMethod(this, &QStateSyncConnection::drop, Qt::QueuedConnection);
}

void QStateSyncConnection::onOutputTaken(bool peerTookIt)
{
    if (m_gone)
        return;
    const qint64 pending = pendingOutput();
    if (peerTookIt) {
        // Only what is taken from a backlog was read by the peer: bytes the kernel takes
        // into an empty buffer say nothing about it.
        if (m_backlogged)
            markAlive();
        // The system took bytes: the way to the peer is not blocked (yet).
        m_readSinceLastLook = true;
        m_backlogged = pending > 0;
    }
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (pending > (limit > 0 ? m_server->limits.pendingOutputLowWater() : 0))
        return;
    m_owedWhileCongested = 0;
    if (m_conflation.isActive())
        flushConflation();
}

void QStateSyncConnection::flushConflation()
{
    const auto state = m_server->states.value(m_joinedState);
    if (!state) {
        m_conflation.clear();
        return;
    }
    const QByteArray message = m_conflation.message(*state, m_v2, m_v2 ? qint64(m_id) : -1);
    qCDebug(lcStateSyncServer).noquote().nospace()
            << "client " << peerDescription() << " caught up: sending "
            << (m_conflation.needsSnapshot() ? "a snapshot" : "the changes it missed") << " ("
            << message.size() << " bytes) of state " << loggable(m_joinedState);
    m_conflation.clear();
    sendFrame(QStateSyncProtocol::textFrame(message));
}

void QStateSyncConnection::ping()
{
    if (!m_gone && !m_dropping)
        m_webSocket->ping();
}

void QStateSyncConnection::onBytesReceived()
{
    markAlive();
    // QWebSocket has read what came (QWebSocket's own handler runs first) and answered
    // every ping with a pong, which nothing bounds: a peer that floods pings and reads
    // nothing would make the pongs pile up. Past twice the limit, a peer whose system took
    // nothing since the last look (its buffers are full: it does not read) is dropped, and
    // so is any peer past a hard cap, however slowly it reads.
    const qint64 limit = m_server->limits.maxPendingOutput;
    if (m_dropping || m_gone || limit <= 0)
        return;
    const qint64 pending = pendingOutput();
    const bool readSomething = std::exchange(m_readSinceLastLook, false);
    if (pending <= 2 * limit || (readSomething && pending <= 2 * limit + HardOutputMargin))
        return;
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "client " << peerDescription() << " keeps sending but does not read: " << pending
            << " bytes wait for it; dropping it";
    m_dropping = true;
    QMetaObject::invokeMethod(this, &QStateSyncConnection::drop, Qt::QueuedConnection);
}

void QStateSyncConnection::drop()
{
    if (m_gone)
        return;
    ++m_server->counters.connectionsDropped;
    m_dropping = true;
    m_webSocket->abort();
    // abort() may or may not have delivered disconnected() already.
    if (!m_gone)
        m_server->handleDisconnected(this);
}

void QStateSyncConnection::onTextMessage(const QString &message)
{
    if (!m_gone && !m_dropping)
        m_server->handleMessage(this, message);
}

void QStateSyncConnection::onBinaryMessage(const QByteArray &)
{
    if (!m_gone && !m_dropping)
        m_server->handleBinaryMessage(this);
}

void QStateSyncConnection::onDisconnected()
{
    if (m_gone)
        return;
    m_server->handleDisconnected(this);
}
