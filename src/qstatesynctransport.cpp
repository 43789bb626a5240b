// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynctransport_p.h"
#include "qstatesyncauthorizationrequest.h"
#include "qstatesynchttpheaders_p.h"
#include "qstatesynchttprequest.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncwebsocketframes_p.h"

#include <QtCore/qregularexpression.h>
#include <QtCore/qtimer.h>
#include <QtCore/qurlquery.h>
#include <QtNetwork/qsslserver.h>
#include <QtNetwork/qtcpserver.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtWebSockets/qwebsocket.h>
#include <QtWebSockets/qwebsocketserver.h>

#include <fcntl.h>

struct QStateSyncTransport::Pending
{
    QPointer<QTcpSocket> socket;
    QPointer<QStateSyncAuthorizationRequest> request;
    QPointer<QStateSyncHttpRequest> http;
    QPointer<QTimer> timer;
    QStateSyncIdentity identity;
    QStateSyncHttpHeaders::Headers headers;
    qsizetype headSize = 0;
    bool headRead = false;
    bool handedOver = false;
};

namespace {
struct RequestHead
{
    QByteArray method;
    QByteArray target;
    QStateSyncHttpHeaders::Headers headers;
    bool valid = false;

    QByteArray header(QByteArrayView name) const
    {
        return QStateSyncHttpHeaders::value(headers, name);
    }
};

RequestHead parseHead(const QByteArray &head)
{
    RequestHead result;
    const QList<QByteArray> lines = head.split('\n');
    if (lines.isEmpty())
        return result;
    const QList<QByteArray> requestLine = lines.first().trimmed().split(' ');
    if (requestLine.size() != 3 || !requestLine.at(2).startsWith("HTTP/1."))
        return result;
    result.method = requestLine.at(0);
    result.target = requestLine.at(1);
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        if (line.isEmpty())
            continue;
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0)
            return result;
        result.headers.append(
                {line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed()});
    }
    result.valid = true;
    return result;
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status < 400 ? "OK" : "Error";
    }
}

// host[:port] or [ipv6][:port], nothing else.
bool isHostHeader(QByteArrayView host)
{
    static const QRegularExpression pattern(QStringLiteral(
            "^(?:[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.?|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$"));
    return pattern.match(QString::fromLatin1(host)).hasMatch();
}

// An origin-form target: a path and maybe a query, printable, no fragment.
bool isRequestTarget(QByteArrayView target)
{
    if (!target.startsWith('/'))
        return false;
    for (const char character : target) {
        const auto byte = uchar(character);
        if (byte <= 0x20 || byte >= 0x7f || byte == '#')
            return false;
    }
    return true;
}

// The request path without its query, which carries the token and must never be logged.
QString loggablePath(const QUrl &url)
{
    return url.path().isEmpty() ? QStringLiteral("/") : loggable(url.path());
}
} // namespace

QStateSyncTransport::QStateSyncTransport(QObject *parent)
    : QObject(parent)
    , m_webSocketServer(std::make_unique<QWebSocketServer>(QStringLiteral("QStateSync"),
                                                           QWebSocketServer::NonSecureMode))
{
    m_webSocketServer->setSupportedSubprotocols(
            {QString::fromLatin1(QStateSyncProtocol::subprotocolV2)});
    m_webSocketServer->setMaxPendingConnections(std::numeric_limits<int>::max());
    connect(m_webSocketServer.get(), &QWebSocketServer::newConnection, this,
            &QStateSyncTransport::takeWebSockets);
}

QStateSyncTransport::~QStateSyncTransport()
{
    close();
}

void QStateSyncTransport::setAuthorizer(const Authorizer &authorizer)
{
    m_authorizer = authorizer;
}

void QStateSyncTransport::setHttpHandler(const HttpHandler &handler)
{
    m_httpHandler = handler;
}

void QStateSyncTransport::setClientCounter(const ClientCounter &counter)
{
    m_clientCounter = counter;
}

void QStateSyncTransport::setLimits(const Limits &limits)
{
    m_limits = limits;
    applyPendingLimit();
}

void QStateSyncTransport::applyPendingLimit()
{
    // Sockets still in their TLS handshake wait in the QSslServer and count towards its
    // pending connections; past the limit it stops accepting until some are taken. Plain
    // sockets are taken at once and limited in acceptConnections().
    if (m_server) {
        m_server->setMaxPendingConnections(m_limits.maxPendingHandshakes > 0
                                                   ? m_limits.maxPendingHandshakes
                                                   : std::numeric_limits<int>::max());
    }
}

QStateSyncTransport::Limits QStateSyncTransport::limits() const
{
    return m_limits;
}

void QStateSyncTransport::setSslConfiguration(const QSslConfiguration &configuration)
{
    m_sslConfiguration = configuration;
    m_secure = !configuration.isNull() && !configuration.localCertificate().isNull();
}

QSslConfiguration QStateSyncTransport::sslConfiguration() const
{
    return m_sslConfiguration;
}

bool QStateSyncTransport::isSecure() const
{
    return m_secure;
}

bool QStateSyncTransport::listen(const QHostAddress &address, quint16 port)
{
    close();
    if (m_secure) {
        auto server = std::make_unique<QSslServer>();
        server->setSslConfiguration(m_sslConfiguration);
        server->setHandshakeTimeout(m_limits.handshakeTimeoutMs);
        connect(server.get(), &QSslServer::errorOccurred, this,
                [](QSslSocket *socket, QAbstractSocket::SocketError) {
                    qCInfo(lcStateSyncTransport).nospace()
                            << "TLS connection from " << socket->peerAddress().toString()
                            << " failed: " << socket->errorString();
                });
        m_server = std::move(server);
    } else {
        m_server = std::make_unique<QTcpServer>();
    }
    applyPendingLimit();
    // Qt's default backlog of 50 drops the connections of a burst beyond it, which the
    // clients then retry a second later; the system caps this at its somaxconn.
    m_server->setListenBacklogSize(ListenBacklog);
    connect(m_server.get(), &QTcpServer::pendingConnectionAvailable, this,
            &QStateSyncTransport::acceptConnections);
    if (!m_server->listen(address, port)) {
        m_errorString = m_server->errorString();
        m_server.reset();
        return false;
    }
    m_errorString.clear();
    return true;
}

void QStateSyncTransport::close()
{
    m_server.reset();
    const QList<QTcpSocket *> sockets = m_pending.keys();
    for (QTcpSocket *socket : sockets) {
        forget(socket); // cancels and deletes what waits for an answer
        disconnect(socket, nullptr, this, nullptr);
        socket->abort();
        socket->deleteLater();
    }
}

bool QStateSyncTransport::isListening() const
{
    return m_server && m_server->isListening();
}

QHostAddress QStateSyncTransport::serverAddress() const
{
    return m_server ? m_server->serverAddress() : QHostAddress();
}

quint16 QStateSyncTransport::serverPort() const
{
    return m_server ? m_server->serverPort() : 0;
}

QString QStateSyncTransport::errorString() const
{
    return m_errorString;
}

void QStateSyncTransport::acceptConnections()
{
    while (m_server && m_server->hasPendingConnections()) {
        QTcpSocket *socket = m_server->nextPendingConnection();
        socket->setParent(this);
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        // Until the WebSocket opens, nothing beyond a request head is read: a peer that
        // keeps sending while its authorization waits is held back by TCP, not buffered.
        socket->setReadBufferSize(m_limits.maxHeaderSize + 4);
        if (m_limits.maxPendingHandshakes > 0
            && m_pending.size() >= m_limits.maxPendingHandshakes) {
            refuseForLimit(socket,
                           QStringLiteral("%1 handshakes are pending, as many as allowed")
                                   .arg(m_pending.size()),
                           "Too many connections are being opened: try again later\n");
            continue;
        }

        auto pending = std::make_shared<Pending>();
        pending->socket = socket;
        pending->timer = new QTimer(socket);
        pending->timer->setSingleShot(true);
        connect(pending->timer, &QTimer::timeout, this, [this, socket] {
            const auto pending = m_pending.value(socket);
            if (!pending)
                return;
            if (pending->http && !pending->http->isAnswered()) {
                qCInfo(lcStateSyncTransport).nospace()
                        << "HTTP request from " << socket->peerAddress().toString()
                        << " was not answered within " << m_limits.handshakeTimeoutMs << " ms";
                answerHttp(socket, 503, "No answer in time\n");
            } else if (pending->request && !pending->request->isAnswered()) {
                qCInfo(lcStateSyncTransport).nospace()
                        << "authorization of " << loggable(pending->identity.clientIdentifier)
                        << " from " << socket->peerAddress().toString() << " did not answer within "
                        << m_limits.handshakeTimeoutMs << " ms";
                pending->request->cancel();
                answerHttp(socket, 503, "Authorization did not answer in time\n");
            } else {
                qCInfo(lcStateSyncTransport).nospace()
                        << "handshake from " << socket->peerAddress().toString()
                        << " did not complete within " << m_limits.handshakeTimeoutMs << " ms";
                forget(socket);
                socket->abort();
                socket->deleteLater();
            }
        });
        pending->timer->start(m_limits.handshakeTimeoutMs);
        m_pending.insert(socket, pending);

        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { readHead(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
            const auto pending = m_pending.value(socket);
            if (!pending)
                return;
            forget(socket);
            if (!pending->handedOver)
                socket->deleteLater();
        });
        if (socket->bytesAvailable() > 0)
            readHead(socket);
    }
}

void QStateSyncTransport::readHead(QTcpSocket *socket)
{
    const auto pending = m_pending.value(socket);
    if (!pending || pending->headRead)
        return;
    // peek() leaves the bytes in the socket: QWebSocketServer reads the same head again
    // when it takes the socket over.
    const QByteArray data = socket->peek(m_limits.maxHeaderSize + 4);
    const qsizetype end = data.indexOf("\r\n\r\n");
    if (end < 0) {
        // Only a peek of the whole allowance without the terminator means too large.
        if (data.size() >= m_limits.maxHeaderSize + 4) {
            qCInfo(lcStateSyncTransport).nospace()
                    << "request head from " << socket->peerAddress().toString()
                    << " is larger than " << m_limits.maxHeaderSize << " bytes";
            pending->headRead = true;
            answerHttp(socket, 431, "Request head too large\n");
        }
        return;
    }
    pending->headRead = true;
    pending->headSize = end + 4;
    authorize(socket, data.left(end));
}

void QStateSyncTransport::authorize(QTcpSocket *socket, const QByteArray &head)
{
    const auto pending = m_pending.value(socket);
    const RequestHead request = parseHead(head);
    if (!request.valid || !request.target.startsWith('/')) {
        qCInfo(lcStateSyncTransport).nospace()
                << "malformed HTTP request from " << socket->peerAddress().toString();
        answerHttp(socket, 400, "Malformed request\n");
        return;
    }
    QByteArray host = request.header("host");
    if (host.isEmpty()) {
        const QHostAddress local = socket->localAddress();
        host = local.protocol() == QAbstractSocket::IPv6Protocol
                ? '[' + local.toString().toLatin1() + ']'
                : local.toString().toLatin1();
    }
    const bool upgrade = request.header("upgrade").toLower().contains("websocket");
    const char *scheme
            = m_secure ? (upgrade ? "wss://" : "https://") : (upgrade ? "ws://" : "http://");
    // The request URL is made of the Host header and the target: either may only be what
    // its name says, or a peer could move the path or the query into the other.
    const QUrl url(QString::fromLatin1(scheme + host + request.target), QUrl::StrictMode);
    if (!isHostHeader(host) || !isRequestTarget(request.target) || !url.isValid()) {
        qCInfo(lcStateSyncTransport).nospace()
                << "malformed Host or request target from " << socket->peerAddress().toString();
        answerHttp(socket, 400, "Malformed Host header or request target\n");
        return;
    }
    if (!upgrade) {
        if (request.method != "GET" && request.method != "HEAD")
            answerHttp(socket, 405, "Only GET and HEAD are served here\n");
        else
            serveHttp(socket, request.method, url, request.headers);
        return;
    }
    if (request.method != "GET") {
        answerHttp(socket, 400, "A WebSocket upgrade is a GET request\n");
        return;
    }
    // Before authorization, which may be costly: a full server would not take the client.
    if (serverIsFull()) {
        refuseForLimit(socket, QStringLiteral("the server has as many clients as allowed"),
                       "The server is full: try again later\n");
        return;
    }

    pending->headers = request.headers;
    auto *authorization
            = new QStateSyncAuthorizationRequest(url, request.headers, socket->peerAddress(), this);
    pending->request = authorization;
    pending->identity.clientIdentifier = authorization->clientIdentifier();
    if (authorization->clientIdentifier().isEmpty()) {
        qCInfo(lcStateSyncTransport).nospace()
                << "refused connection from " << socket->peerAddress().toString() << " to "
                << loggablePath(url) << ": no client identifier";
        authorization->deleteLater();
        answerHttp(socket, 401, "A client identifier is required\n");
        return;
    }

    connect(authorization, &QStateSyncRequest::finished, this,
            [this, socket] { finishAuthorization(socket); });
    if (m_authorizer)
        m_authorizer(authorization);
    if (authorization->status() == QStateSyncRequest::Pending)
        authorization->accept();
}

void QStateSyncTransport::finishAuthorization(QTcpSocket *socket)
{
    const auto pending = m_pending.value(socket);
    if (!pending || !pending->request)
        return;
    QStateSyncAuthorizationRequest *request = pending->request;
    request->deleteLater();
    switch (request->status()) {
    case QStateSyncRequest::Accepted:
        // Others may have come in while authorization waited.
        if (serverIsFull()) {
            refuseForLimit(socket, QStringLiteral("the server has as many clients as allowed"),
                           "The server is full: try again later\n");
            break;
        }
        pending->identity.clientInformation = request->clientInformation();
        pending->identity.publicInformation = request->publicInformation();
        if (m_directUpgrades && !m_secure) {
            upgradeDirectly(socket);
            break;
        }
        pending->handedOver = true;
        // QWebSocketServer answers the handshake at once from the bytes already read; the
        // deadline no longer applies.
        if (pending->timer)
            pending->timer->stop();
        disconnect(socket, &QTcpSocket::readyRead, this, nullptr);
        socket->setReadBufferSize(0); // from now on the WebSocket's message limits apply
        m_webSocketServer->handleConnection(socket);
        break;
    case QStateSyncRequest::Rejected:
        qCInfo(lcStateSyncTransport).nospace()
                << "refused connection of " << loggable(pending->identity.clientIdentifier)
                << " from " << socket->peerAddress().toString() << ": unauthorized";
        answerHttp(socket, 401,
                   request->rejectionMessage().isEmpty()
                           ? QByteArray("Unauthorized\n")
                           : request->rejectionMessage().toUtf8() + '\n');
        break;
    default:
        break;
    }
}

void QStateSyncTransport::serveHttp(QTcpSocket *socket, const QByteArray &method, const QUrl &url,
                                    const QList<QPair<QByteArray, QByteArray>> &headers)
{
    const auto pending = m_pending.value(socket);
    auto *http = new QStateSyncHttpRequest(method, url, headers, socket->peerAddress(), this);
    pending->http = http;
    const bool headersOnly = method == "HEAD";
    const QPointer<QTcpSocket> guard(socket);
    connect(http, &QStateSyncHttpRequest::responded, this,
            [this, guard, http, headersOnly](int status, const QByteArray &body,
                                             const QByteArray &contentType) {
                http->deleteLater();
                if (guard)
                    answerHttp(guard, status, body, contentType, headersOnly);
            });
    if (m_httpHandler)
        m_httpHandler(http);
    if (!http->isAnswered() && !http->isDeferred())
        http->respond(426, "This is a QStateSync server: connect with a WebSocket\n");
}

bool QStateSyncTransport::serverIsFull() const
{
    if (m_limits.maxClients <= 0)
        return false;
    // Clients handed to the WebSocket handshake are as good as in.
    qsizetype clients = m_clientCounter ? m_clientCounter() : 0;
    for (const auto &pending : m_pending)
        clients += pending->handedOver ? 1 : 0;
    return clients >= m_limits.maxClients;
}

void QStateSyncTransport::refuseForLimit(QTcpSocket *socket, const QString &reason,
                                         const QByteArray &body)
{
    ++m_connectionsRefused;
    // Refusals come in floods when they come: one line a second says enough.
    quint64 heldBack = 0;
    if (m_refusalLog.allow(&heldBack)) {
        qCInfo(lcStateSyncTransport).noquote().nospace()
                << "refused a connection from " << socket->peerAddress().toString()
                << " with 503: " << reason
                << (heldBack ? QStringLiteral(" (and %1 more since the last line)").arg(heldBack)
                             : QString());
    }
    answerHttp(socket, 503, body, QByteArrayLiteral("text/plain; charset=utf-8"), false,
               "Retry-After: " + QByteArray::number(RetryAfterSeconds) + "\r\n");
    // What the peer sends meanwhile is read and dropped: closing with unread bytes would
    // reset the connection, and could lose the answer on its way.
    connect(socket, &QIODevice::readyRead, socket, [socket] { socket->readAll(); });
    socket->readAll();
}

void QStateSyncTransport::answerHttp(QTcpSocket *socket, int status, const QByteArray &body,
                                     const QByteArray &contentType, bool headersOnly,
                                     const QByteArray &extraHeaders)
{
    QByteArray response
            = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) + "\r\n";
    response += extraHeaders;
    response += "Content-Type: " + contentType + "\r\n";
    response += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    response += "Connection: close\r\n\r\n";
    if (!headersOnly)
        response += body;
    forget(socket);
    disconnect(socket, nullptr, this, nullptr);
    connect(socket, &QTcpSocket::disconnected, socket, &QObject::deleteLater);
    socket->write(response);
    socket->disconnectFromHost();
}

void QStateSyncTransport::forget(QTcpSocket *socket)
{
    const auto pending = m_pending.take(socket);
    if (!pending)
        return;
    if (pending->timer)
        pending->timer->deleteLater();
    if (pending->request && !pending->request->isAnswered()) {
        pending->request->cancel();
        pending->request->deleteLater();
    }
    if (pending->http && !pending->http->isAnswered())
        pending->http->deleteLater();
}

void QStateSyncTransport::takeWebSockets()
{
    while (m_webSocketServer->hasPendingConnections()) {
        QWebSocket *webSocket = m_webSocketServer->nextPendingConnection();
        std::shared_ptr<Pending> match;
        for (const auto &pending : std::as_const(m_pending)) {
            if (pending->handedOver && pending->socket
                && pending->socket->peerPort() == webSocket->peerPort()
                && pending->socket->peerAddress() == webSocket->peerAddress()) {
                match = pending;
                break;
            }
        }
        if (!match) {
            webSocket->abort();
            webSocket->deleteLater();
            continue;
        }
        QTcpSocket *socket = match->socket;
        forget(socket);
        disconnect(socket, nullptr, this, nullptr);
        webSocket->setParent(this);
        webSocket->setMaxAllowedIncomingFrameSize(quint64(m_limits.maxMessageSize));
        webSocket->setMaxAllowedIncomingMessageSize(quint64(m_limits.maxMessageSize));
        Q_EMIT clientConnected(webSocket, socket, match->identity);
    }
}

namespace {
// Whether a comma-separated header, in any of its lines, lists token.
bool listsToken(const QStateSyncHttpHeaders::Headers &headers, QByteArrayView name,
                QByteArrayView token)
{
    for (const auto &header : headers) {
        if (header.first.compare(name, Qt::CaseInsensitive) != 0)
            continue;
        const QList<QByteArray> items = header.second.split(',');
        for (const QByteArray &item : items) {
            if (item.trimmed().compare(token, Qt::CaseInsensitive) == 0)
                return true;
        }
    }
    return false;
}
} // namespace

void QStateSyncTransport::upgradeDirectly(QTcpSocket *socket)
{
    const auto pending = m_pending.value(socket);
    const QStateSyncHttpHeaders::Headers &headers = pending->headers;
    // RFC 6455 4.2.1: what a server must find in the request.
    const QByteArray version = QStateSyncHttpHeaders::value(headers, "sec-websocket-version");
    if (version.trimmed() != "13") {
        qCInfo(lcStateSyncTransport).nospace()
                << "refused a WebSocket handshake from " << socket->peerAddress().toString()
                << ": version " << loggable(QString::fromLatin1(version)) << " is not 13";
        answerHttp(socket, 426, "Only WebSocket version 13 is supported\n",
                   QByteArrayLiteral("text/plain; charset=utf-8"), false,
                   "Sec-WebSocket-Version: 13\r\n");
        return;
    }
    const QByteArray key = QStateSyncHttpHeaders::value(headers, "sec-websocket-key").trimmed();
    if (!QStateSyncWebSocket::isValidClientKey(key)
        || !listsToken(headers, "connection", "upgrade")) {
        qCInfo(lcStateSyncTransport).nospace() << "refused a malformed WebSocket handshake from "
                                               << socket->peerAddress().toString();
        answerHttp(socket, 400, "Malformed WebSocket handshake\n");
        return;
    }
    const bool v2
            = listsToken(headers, "sec-websocket-protocol", QStateSyncProtocol::subprotocolV2);
    QByteArray response = "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: "
            + QStateSyncWebSocket::acceptKey(key) + "\r\n";
    if (v2)
        response += "Sec-WebSocket-Protocol: " + QByteArray(QStateSyncProtocol::subprotocolV2)
                + "\r\n";
    response += "\r\n";

    // The head was only peeked at; what came after it is the client's first frames.
    socket->skip(pending->headSize);
    const QByteArray early = socket->readAll();
    // The I/O thread takes the connection on a descriptor of its own; QTcpSocket closes its
    // own, which leaves the connection open.
    const int fd = fcntl(int(socket->socketDescriptor()), F_DUPFD_CLOEXEC, 0);
    const QHostAddress address = socket->peerAddress();
    const quint16 port = socket->peerPort();
    const QStateSyncIdentity identity = pending->identity;
    forget(socket);
    disconnect(socket, nullptr, this, nullptr);
    socket->abort();
    socket->deleteLater();
    if (fd < 0) {
        qCWarning(lcStateSyncTransport).nospace()
                << "cannot take the connection from " << address.toString() << ": "
                << qt_error_string(errno);
        return;
    }
    Q_EMIT clientUpgraded(fd, response, early, address, port, v2, identity);
}
