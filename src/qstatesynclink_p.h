// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCLINK_P_H
#define QSTATESYNCLINK_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesync_global.h"

#include <QtCore/qbytearray.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtNetwork/qhostaddress.h>

QT_BEGIN_NAMESPACE
    class QTcpSocket;
    class QWebSocket;
QT_END_NAMESPACE

class QStateSyncConnection;

// How a server connection reaches its client: the socket under it, seen from the server's
// thread. Two kinds: a QWebSocket on the server's own thread (TLS, or when the server has
// no I/O threads), and a raw socket served by an I/O thread (QStateSyncRawLink). What comes
// from the client goes to the connection's receive functions.
class QStateSyncLink
{
public:
    virtual ~QStateSyncLink();

    void setConnection(QStateSyncConnection *connection) { m_connection = connection; }

    virtual bool isV2() const = 0;
    virtual bool isServedByIoThread() const { return false; }
    virtual QHostAddress peerAddress() const = 0;
    virtual quint16 peerPort() const = 0;
    // Whether frames may still be sent: not closing, closed or aborted.
    virtual bool isOpen() const = 0;
    // A whole frame, made by QStateSyncProtocol::textFrame() or QStateSyncWebSocket.
    virtual void write(const QByteArray &frame) = 0;
    // Starts the closing handshake.
    virtual void close(quint16 code, const QString &reason) = 0;
    // Closes at once; the connection still hears that the link closed, or already did.
    virtual void abort() = 0;
    virtual void ping() = 0;
    // Bytes written that the system has not taken yet.
    virtual qint64 pendingOutput() const = 0;
    // Whether the peer showed a sign of life (a byte received, or some of a backlog taken)
    // since the last call, which starts the next period.
    virtual bool takeSignOfLife() = 0;
    virtual void markAlive() = 0;

protected:
    QStateSyncConnection *m_connection = nullptr;
};

// A QWebSocket, and the socket under it that frames are written to directly.
class QStateSyncWebSocketLink : public QObject, public QStateSyncLink
{
    Q_OBJECT

public:
    QStateSyncWebSocketLink(QWebSocket *webSocket, QTcpSocket *tcpSocket);
    ~QStateSyncWebSocketLink() override;

    bool isV2() const override;
    QHostAddress peerAddress() const override;
    quint16 peerPort() const override;
    bool isOpen() const override;
    void write(const QByteArray &frame) override;
    void close(quint16 code, const QString &reason) override;
    void abort() override;
    void ping() override;
    qint64 pendingOutput() const override;
    bool takeSignOfLife() override { return std::exchange(m_alive, false); }
    void markAlive() override { m_alive = true; }

private:
    void onBytesReceived();
    void onOutputTaken(bool peerTookIt);

    QWebSocket *m_webSocket;
    QPointer<QTcpSocket> m_tcpSocket;
    bool m_alive = true;
    bool m_backlogged = false;
    bool m_readSinceLastLook = false;
};

#endif // QSTATESYNCLINK_P_H
