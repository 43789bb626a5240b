// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"

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

void QStateSyncConnection::send(const QByteArray &message)
{
    sendFrame(QStateSyncProtocol::textFrame(message));
}

void QStateSyncConnection::sendFrame(const QByteArray &frame)
{
    // QWebSocket can only send a QString, which it converts to UTF-8 and copies for every
    // peer. A server's frames are not masked, so the same bytes serve every peer: write
    // them to the socket under the WebSocket directly. QWebSocket writes its own frames
    // (pongs, close) whole and synchronously on this thread, so frames never interleave.
    if (m_gone || !m_tcpSocket || m_webSocket->state() != QAbstractSocket::ConnectedState)
        return;
    m_server->counters.bytesSent += quint64(frame.size());
    m_tcpSocket->write(frame);
}

void QStateSyncConnection::close(QWebSocketProtocol::CloseCode code, const QString &reason)
{
    m_webSocket->close(code, reason);
}

void QStateSyncConnection::onTextMessage(const QString &message)
{
    if (!m_gone)
        m_server->handleMessage(this, message);
}

void QStateSyncConnection::onBinaryMessage(const QByteArray &)
{
    if (!m_gone)
        m_server->handleBinaryMessage(this);
}

void QStateSyncConnection::onDisconnected()
{
    if (m_gone)
        return;
    m_server->handleDisconnected(this);
}
