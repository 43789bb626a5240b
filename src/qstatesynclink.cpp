// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynclink_p.h"
#include "qstatesyncconnection_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"

#include <QtNetwork/qsslsocket.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtWebSockets/qwebsocket.h>

QStateSyncLink::~QStateSyncLink() = default;

QStateSyncWebSocketLink::QStateSyncWebSocketLink(QWebSocket *webSocket, QTcpSocket *tcpSocket)
    : m_webSocket(webSocket)
    , m_tcpSocket(tcpSocket)
{
    // Own the socket too, so that it goes away with the link whatever QWebSocket does
    // with the socket it was upgraded from.
    webSocket->setParent(this);
    tcpSocket->setParent(this);
    connect(webSocket, &QWebSocket::textMessageReceived, this, [this](const QString &message) {
        const QByteArray utf8 = message.toUtf8();
        m_connection->receive(utf8);
    });
    connect(webSocket, &QWebSocket::binaryMessageReceived, this,
            [this] { m_connection->receiveBinary(); });
    connect(webSocket, &QWebSocket::disconnected, this, [this] { m_connection->linkClosed(); });
    // Any byte from the peer, a pong or part of a message, shows it is alive.
    connect(tcpSocket, &QIODevice::readyRead, this, &QStateSyncWebSocketLink::onBytesReceived);
    // Bytes the kernel takes while a backlog waits are bytes the peer has read. Under TLS,
    // bytesWritten() only says that plain text went to the encryption.
    if (auto *ssl = qobject_cast<QSslSocket *>(tcpSocket)) {
        connect(ssl, &QSslSocket::encryptedBytesWritten, this, [this] { onOutputTaken(true); });
        connect(ssl, &QIODevice::bytesWritten, this, [this] { onOutputTaken(false); });
    } else {
        connect(tcpSocket, &QIODevice::bytesWritten, this, [this] { onOutputTaken(true); });
    }
}

QStateSyncWebSocketLink::~QStateSyncWebSocketLink()
{
    // What the sockets say while they go is not for a connection that is going too.
    disconnect(m_webSocket, nullptr, this, nullptr);
    if (m_tcpSocket)
        disconnect(m_tcpSocket, nullptr, this, nullptr);
}

bool QStateSyncWebSocketLink::isV2() const
{
    return m_webSocket->subprotocol() == QLatin1String(QStateSyncProtocol::subprotocolV2);
}

QHostAddress QStateSyncWebSocketLink::peerAddress() const
{
    return m_webSocket->peerAddress();
}

quint16 QStateSyncWebSocketLink::peerPort() const
{
    return m_webSocket->peerPort();
}

bool QStateSyncWebSocketLink::isOpen() const
{
    return m_tcpSocket && m_webSocket->state() == QAbstractSocket::ConnectedState;
}

void QStateSyncWebSocketLink::write(const QByteArray &frame)
{
    // QWebSocket can only send a QString, which it converts to UTF-8 and copies for every
    // peer. A server's frames are not masked, so the same bytes serve every peer: write
    // them to the socket under the WebSocket directly. QWebSocket writes its own frames
    // (pings, pongs, close) whole and synchronously on this thread, so frames never
    // interleave.
    if (isOpen())
        m_tcpSocket->write(frame);
}

void QStateSyncWebSocketLink::close(quint16 code, const QString &reason)
{
    m_webSocket->close(QWebSocketProtocol::CloseCode(code), reason);
}

void QStateSyncWebSocketLink::abort()
{
    m_webSocket->abort();
}

void QStateSyncWebSocketLink::ping()
{
    m_webSocket->ping();
}

qint64 QStateSyncWebSocketLink::pendingOutput() const
{
    if (!m_tcpSocket)
        return 0;
    qint64 pending = m_tcpSocket->bytesToWrite();
    if (const auto *ssl = qobject_cast<const QSslSocket *>(m_tcpSocket.data()))
        pending += ssl->encryptedBytesToWrite();
    return pending;
}

void QStateSyncWebSocketLink::onOutputTaken(bool peerTookIt)
{
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
    m_connection->outputTaken(pending);
}

void QStateSyncWebSocketLink::onBytesReceived()
{
    markAlive();
    // QWebSocket has read what came (QWebSocket's own handler runs first) and answered
    // every ping with a pong, which nothing bounds: a peer that floods pings and reads
    // nothing would make the pongs pile up. Past twice the limit, a peer whose system took
    // nothing since the last look (its buffers are full: it does not read) is dropped, and
    // so is any peer past a hard cap, however slowly it reads.
    const qint64 limit = m_connection->maxPendingOutput();
    if (limit <= 0)
        return;
    const qint64 pending = pendingOutput();
    const bool readSomething = std::exchange(m_readSinceLastLook, false);
    if (pending <= 2 * limit
        || (readSomething && pending <= 2 * limit + QStateSyncConnection::HardOutputMargin)) {
        return;
    }
    m_connection->dropForNotReading(pending);
}
