// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCTRANSPORT_P_H
#define QSTATESYNCTRANSPORT_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesync_global.h"
#include "qstatesynclimits_p.h"

#include <QtCore/qhash.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qvariant.h>
#include <QtNetwork/qhostaddress.h>
#include <QtNetwork/qsslconfiguration.h>

#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
    class QTcpServer;
    class QTcpSocket;
    class QWebSocket;
    class QWebSocketServer;
QT_END_NAMESPACE

class QStateSyncAuthorizationRequest;

// Who an authorized client is: what it said, and what authorization made of it.
struct QStateSyncIdentity
{
    QString clientIdentifier;
    QVariantMap clientInformation;
    QVariantMap publicInformation;
};
class QStateSyncHttpRequest;

// The transport layer of the server: it accepts TCP (or TLS) connections, reads the HTTP
// upgrade request itself so that authorization can answer a real 401 before any WebSocket
// exists, and hands authorized sockets to a QWebSocketServer for the handshake.
class QStateSyncTransport : public QObject
{
    Q_OBJECT

public:
    // Zero maxClients or maxPendingHandshakes means no limit.
    struct Limits
    {
        qint64 maxMessageSize = 1024 * 1024;
        int maxHeaderSize = 16 * 1024;
        int handshakeTimeoutMs = 10000;
        int maxClients = 10000;
        int maxPendingHandshakes = 1000;
    };
    // The seconds a client refused for a full server is told to wait (Retry-After).
    static constexpr int RetryAfterSeconds = 5;
    // Connections the system may hold before the server accepts them.
    static constexpr int ListenBacklog = 4096;

    // Called with every authorization request; when it returns without answering or
    // deferring it, the request is accepted.
    using Authorizer = std::function<void(QStateSyncAuthorizationRequest *request)>;
    // Called with every plain HTTP request (GET or HEAD without an upgrade).
    using HttpHandler = std::function<void(QStateSyncHttpRequest *request)>;
    // How many WebSocket clients the server has, for maxClients.
    using ClientCounter = std::function<int()>;

    explicit QStateSyncTransport(QObject *parent = nullptr);
    ~QStateSyncTransport() override;

    void setAuthorizer(const Authorizer &authorizer);
    void setHttpHandler(const HttpHandler &handler);
    void setClientCounter(const ClientCounter &counter);
    void setLimits(const Limits &limits);
    Limits limits() const;

    void setSslConfiguration(const QSslConfiguration &configuration);
    QSslConfiguration sslConfiguration() const;
    bool isSecure() const;
    // Whether plain connections are upgraded here and handed over as descriptors
    // (clientUpgraded) instead of as QWebSockets (clientConnected). TLS always gives
    // QWebSockets.
    void setDirectUpgrades(bool direct) { m_directUpgrades = direct; }
    bool directUpgrades() const { return m_directUpgrades && !m_secure; }

    bool listen(const QHostAddress &address, quint16 port);
    void close();
    bool isListening() const;
    QHostAddress serverAddress() const;
    quint16 serverPort() const;
    QString errorString() const;
    // Connections refused with 503 because maxClients or maxPendingHandshakes was reached.
    quint64 connectionsRefused() const { return m_connectionsRefused; }

Q_SIGNALS:
    // An authorized client completed the WebSocket handshake. tcpSocket is the socket
    // under webSocket, which the server may write whole frames to.
    void clientConnected(QWebSocket *webSocket, QTcpSocket *tcpSocket,
                         const QStateSyncIdentity &identity);
    // With direct upgrades: an authorized client whose handshake the transport answered
    // itself. fd is the socket's descriptor, now the receiver's; response is the answer,
    // not sent yet, and early are the bytes that came after the request.
    void clientUpgraded(int fd, const QByteArray &response, const QByteArray &early,
                        const QHostAddress &address, quint16 port, bool v2,
                        const QStateSyncIdentity &identity);

private:
    struct Pending;

    void acceptConnections();
    void readHead(QTcpSocket *socket);
    void authorize(QTcpSocket *socket, const QByteArray &head);
    void finishAuthorization(QTcpSocket *socket);
    void serveHttp(QTcpSocket *socket, const QByteArray &method, const QUrl &url,
                   const QList<QPair<QByteArray, QByteArray>> &headers);
    void answerHttp(QTcpSocket *socket, int status, const QByteArray &body,
                    const QByteArray &contentType = QByteArrayLiteral("text/plain; charset=utf-8"),
                    bool headersOnly = false, const QByteArray &extraHeaders = QByteArray());
    // Answers 503 with Retry-After because of a limit, and logs it, once a second at most.
    void refuseForLimit(QTcpSocket *socket, const QString &reason, const QByteArray &body);
    bool serverIsFull() const;
    void applyPendingLimit();
    void forget(QTcpSocket *socket);
    void takeWebSockets();
    void upgradeDirectly(QTcpSocket *socket);

    Authorizer m_authorizer;
    HttpHandler m_httpHandler;
    ClientCounter m_clientCounter;
    Limits m_limits;
    quint64 m_connectionsRefused = 0;
    QStateSyncLogThrottle m_refusalLog;
    QSslConfiguration m_sslConfiguration;
    bool m_secure = false;
    bool m_directUpgrades = false;
    std::unique_ptr<QTcpServer> m_server;
    std::unique_ptr<QWebSocketServer> m_webSocketServer;
    QHash<QTcpSocket *, std::shared_ptr<Pending>> m_pending;
    QString m_errorString;
};

#endif // QSTATESYNCTRANSPORT_P_H
