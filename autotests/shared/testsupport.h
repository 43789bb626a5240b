// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef TESTSUPPORT_H
#define TESTSUPPORT_H

// What the suites share: a raw WebSocket peer that speaks JSON messages (to test the
// server exactly as the wire sees it), a WebSocket peer written by hand on TCP (for pings
// and reading that QWebSocket does on its own), a raw HTTP handshake (to read status
// lines the WebSocket API hides), and a self-signed certificate made on the spot.

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qprocess.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qtcpserver.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>
#include <QtWebSockets/qwebsocket.h>
#include <QtWebSockets/qwebsockethandshakeoptions.h>
#include <QtWebSockets/qwebsocketserver.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace TestSupport {

inline constexpr int Timeout = 10000;

inline QUrl urlOf(const QStateSyncer &server)
{
    return QUrl(QStringLiteral("%1://127.0.0.1:%2/")
                        .arg(server.isSecure() ? QStringLiteral("wss") : QStringLiteral("ws"))
                        .arg(server.serverPort()));
}

// A port of 127.0.0.1 that nothing listened on a moment ago, for a process the test
// starts (which picks no port of its own).
inline quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        qFatal("no free port");
    return probe.serverPort();
}

// A server on a free port of 127.0.0.1.
inline std::unique_ptr<QStateSyncer> startServer()
{
    auto server = std::make_unique<QStateSyncer>();
    if (!server->listen(QHostAddress::LocalHost, 0))
        qFatal("cannot listen: %s", qPrintable(server->errorString()));
    return server;
}

// Creates a state; returns its identifier, or a null string when it exists already.
inline QString createState(QStateSyncer &server, const QString &identifier,
                           const QJsonObject &initialValue = QJsonObject(),
                           QStateSync::MergeMode mode = QStateSync::MergeMode::Deep)
{
    QStateSyncStateOptions options;
    options.setIdentifier(identifier);
    options.setInitialValue(initialValue);
    options.setMergeMode(mode);
    return server.createState(options);
}

// A QStateSyncClient that joined state (it warns when it could not).
inline std::unique_ptr<QStateSyncClient> joinedClient(const QStateSyncer &server,
                                                      const QString &identifier,
                                                      const QString &state,
                                                      const QString &token = QString())
{
    auto client = std::make_unique<QStateSyncClient>(urlOf(server), identifier, token);
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState(state);
    if (!joined.wait(Timeout))
        qWarning("client %s did not join %s", qPrintable(identifier), qPrintable(state));
    return client;
}

// Changes the state until the server's output stays above limit, for a client that does
// not read. The server counts what it sends before its I/O threads write it, so one look
// above the limit may be bytes the system is about to take: it must stay there for a few
// looks. Returns whether it got there.
inline bool fillOutputBeyond(QStateSyncer &server, const QString &state, qint64 limit)
{
    constexpr int StableLooks = 5;
    int round = 0;
    int above = 0;
    const QDeadlineTimer deadline(4 * Timeout);
    while (!deadline.hasExpired()) {
        if (server.pendingOutputBytes() > limit) {
            if (++above >= StableLooks)
                return true;
            QTest::qWait(20);
            continue;
        }
        above = 0;
        server.updateStateValue(state, {{"n", ++round}, {"blob", QString(4000, u'x')}});
        QCoreApplication::processEvents();
    }
    return false;
}

inline QJsonObject parse(const QString &text)
{
    return QJsonDocument::fromJson(text.toUtf8()).object();
}

inline QString compact(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

// Waits until predicate holds, looking again at every emission of object's signal
// changed, and every 100 ms in any case (not every change of a socket is signalled).
template<typename Object, typename Predicate>
bool waitUntilSignalled(Object *object, void (Object::*changed)(), Predicate predicate,
                        int timeout = Timeout)
{
    QDeadlineTimer deadline(timeout);
    while (!predicate()) {
        if (deadline.hasExpired())
            return false;
        QSignalSpy spy(object, changed);
        spy.wait(int(std::clamp<qint64>(deadline.remainingTime(), 1, 100)));
    }
    return true;
}

// Moves the first message of type out of received into *found; false when there is none.
inline bool takeFirstOfType(QList<QJsonObject> &received, int type, QJsonObject *found)
{
    for (qsizetype i = 0; i < received.size(); ++i) {
        if (received.at(i).value(QStringLiteral("type")).toInt() == type) {
            *found = received.takeAt(i);
            return true;
        }
    }
    return false;
}

// A WebSocket peer that sends and records raw protocol messages.
class RawClient : public QObject
{
    Q_OBJECT

public:
    enum Flavour { V1, V2 };

    explicit RawClient(Flavour flavour = V2, QObject *parent = nullptr)
        : QObject(parent)
        , flavour(flavour)
    {
        connect(&socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
            received.append(parse(text));
            texts.append(text);
            Q_EMIT changed();
        });
        connect(&socket, &QWebSocket::binaryMessageReceived, this, [this](const QByteArray &) {
            ++binaryReceived;
            Q_EMIT changed();
        });
        connect(&socket, QOverload<QAbstractSocket::SocketError>::of(&QWebSocket::error), this,
                [this](QAbstractSocket::SocketError) {
                    failed = true;
                    Q_EMIT changed();
                });
        connect(&socket, &QWebSocket::sslErrors, this, [this](const QList<QSslError> &) {
            failed = true;
            Q_EMIT changed();
        });
        connect(&socket, &QWebSocket::stateChanged, this, &RawClient::changed);
        connect(&socket, &QWebSocket::disconnected, this, &RawClient::changed);
    }

    // Waits until predicate holds, waking up on every event of the socket. QWebSocket does
    // not signal every state change (a refused TLS handshake closes silently), so the
    // predicate is also looked at again every 100 ms.
    template<typename Predicate>
    bool waitUntil(Predicate predicate, int timeout = Timeout)
    {
        return waitUntilSignalled(this, &RawClient::changed, predicate, timeout);
    }

    bool open(const QUrl &base, const QString &identifier, const QString &token = QString(),
              const QSslConfiguration &ssl = QSslConfiguration())
    {
        QUrl url = base;
        url.setQuery(QStringLiteral("identifier=%1&token=%2").arg(identifier, token));
        QWebSocketHandshakeOptions options;
        if (flavour == V2)
            options.setSubprotocols({QStringLiteral("qstatesync.v2")});
        if (!ssl.isNull())
            socket.setSslConfiguration(ssl);
        failed = false;
        socket.open(url, options);
        // A failed handshake may leave the socket in ConnectingState: stop at the error.
        waitUntil([this] {
            return failed || socket.state() == QAbstractSocket::ConnectedState
                    || socket.state() == QAbstractSocket::UnconnectedState;
        });
        return socket.state() == QAbstractSocket::ConnectedState;
    }

    void send(int type, const QJsonValue &data)
    {
        sendText(compact(
                QJsonObject{{QStringLiteral("type"), type}, {QStringLiteral("data"), data}}));
    }
    void sendText(const QString &text) { socket.sendTextMessage(text); }

    void join(const QString &state)
    {
        send(2, QJsonObject{{QStringLiteral("stateIdentifier"), state}});
    }
    void update(const QJsonObject &updates, const QJsonValue &requestId = QJsonValue::Undefined)
    {
        QJsonObject data{{QStringLiteral("updates"), updates}};
        if (!requestId.isUndefined())
            data.insert(QStringLiteral("requestId"), requestId);
        send(3, data);
    }
    void append(const QJsonObject &appends, const QJsonValue &requestId = QJsonValue::Undefined)
    {
        QJsonObject data{{QStringLiteral("appends"), appends}};
        if (!requestId.isUndefined())
            data.insert(QStringLiteral("requestId"), requestId);
        send(20, data);
    }

    // Waits for the next message of type that was not taken yet, and takes it; returns
    // an empty object on timeout.
    QJsonObject take(int type, int timeout = Timeout)
    {
        QJsonObject found;
        waitUntil([&] { return takeFirstOfType(received, type, &found); }, timeout);
        return found;
    }
    QJsonObject takeData(int type, int timeout = Timeout)
    {
        return take(type, timeout).value(QStringLiteral("data")).toObject();
    }

    // Joins and returns the STATE_CONNECTION_ESTABLISHED data.
    QJsonObject joinAndWait(const QString &state)
    {
        join(state);
        return takeData(7);
    }

    bool waitForDisconnect(int timeout = Timeout)
    {
        return waitUntil([this] { return socket.state() == QAbstractSocket::UnconnectedState; },
                         timeout);
    }

Q_SIGNALS:
    void changed();

public:
    Flavour flavour;
    QWebSocket socket;
    QList<QJsonObject> received;
    QStringList texts; // every message as it came, in order, also those taken
    int binaryReceived = 0;
    bool failed = false;
};

// A v2 WebSocket server the test scripts by hand: it records what the client sends and
// sends what the test tells it to, to put a client in situations a QStateSyncer only
// reaches under load (version gaps, conflated catch-ups, answers in a chosen order).
class ScriptedServer
{
public:
    ScriptedServer()
        : server(QStringLiteral("scripted"), QWebSocketServer::NonSecureMode)
    {
        server.setSupportedSubprotocols({QStringLiteral("qstatesync.v2")});
        if (!server.listen(QHostAddress::LocalHost, 0))
            qFatal("scripted server cannot listen");
        QObject::connect(&server, &QWebSocketServer::newConnection, &server, [this] {
            peer = server.nextPendingConnection();
            peer->setParent(&server);
            QObject::connect(peer, &QWebSocket::textMessageReceived, &server,
                             [this](const QString &text) { fromClient.append(parse(text)); });
        });
    }

    QUrl url() const { return QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(server.serverPort())); }
    void send(int type, const QJsonObject &data)
    {
        peer->sendTextMessage(compact(
                QJsonObject{{QStringLiteral("type"), type}, {QStringLiteral("data"), data}}));
    }

    QWebSocketServer server;
    QWebSocket *peer = nullptr;
    QList<QJsonObject> fromClient;
};

// The status line and head of the server's answer to a hand-written upgrade request.
struct HttpAnswer
{
    int status = 0;
    QByteArray head;
    bool closedByServer = false;
};

inline HttpAnswer rawRequest(quint16 port, const QByteArray &request)
{
    HttpAnswer answer;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(Timeout))
        return answer;
    socket.write(request);
    QByteArray data;
    (void)QTest::qWaitFor(
            [&] {
                data += socket.readAll();
                return data.contains("\r\n\r\n")
                        || socket.state() == QAbstractSocket::UnconnectedState;
            },
            Timeout);
    const qsizetype end = data.indexOf("\r\n\r\n");
    answer.head = end >= 0 ? data.left(end) : data;
    const QList<QByteArray> statusLine = answer.head.split('\n').value(0).split(' ');
    answer.status = statusLine.value(1).toInt();
    if (answer.status == 101)
        return answer; // a WebSocket is open: the server keeps it
    answer.closedByServer = QTest::qWaitFor(
            [&] {
                socket.readAll();
                return socket.state() == QAbstractSocket::UnconnectedState;
            },
            Timeout);
    return answer;
}

inline QByteArray upgradeRequest(const QByteArray &target, const QByteArray &extraHeaders = {})
{
    return "GET " + target
            + " HTTP/1.1\r\n"
              "Host: 127.0.0.1\r\n"
              "Upgrade: websocket\r\n"
              "Connection: Upgrade\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              "Sec-WebSocket-Version: 13\r\n"
            + extraHeaders + "\r\n";
}

// A WebSocket client written by hand on a TCP socket, for what QWebSocket does on its own
// and a test needs to control: it can leave pings unanswered, stop reading altogether
// (with a small receive buffer, so that the server's side fills up soon), and resume.
class RawTcpPeer : public QObject
{
    Q_OBJECT

public:
    struct Options
    {
        bool v2 = true;
        bool answerPings = true;
        int receiveBufferSize = 0; // SO_RCVBUF before connecting; 0 leaves the default
    };

    explicit RawTcpPeer(Options options, QObject *parent = nullptr)
        : QObject(parent)
        , options(options)
    {
        connect(&socket, &QTcpSocket::readyRead, this, &RawTcpPeer::readFrames);
        connect(&socket, &QTcpSocket::disconnected, this, &RawTcpPeer::changed);
    }

    template<typename Predicate>
    bool waitUntil(Predicate predicate, int timeout = Timeout)
    {
        return waitUntilSignalled(this, &RawTcpPeer::changed, predicate, timeout);
    }

    // Connects and completes the WebSocket handshake; false when the server did not
    // answer 101.
    bool open(quint16 port, const QString &identifier)
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return false;
        if (options.receiveBufferSize > 0) {
            const int size = options.receiveBufferSize;
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        }
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0
            || !socket.setSocketDescriptor(fd)) {
            ::close(fd);
            return false;
        }
        QByteArray extra;
        if (options.v2)
            extra = "Sec-WebSocket-Protocol: qstatesync.v2\r\n";
        socket.write(upgradeRequest("/?identifier=" + QUrl::toPercentEncoding(identifier), extra));
        return waitUntil([this] { return handshakeDone || !isConnected(); })
                && answerHead.startsWith("HTTP/1.1 101");
    }

    bool isConnected() const { return socket.state() == QAbstractSocket::ConnectedState; }

    // Stops taking bytes from the system: they pile up there, then on the server.
    void stopReading()
    {
        reading = false;
        socket.setReadBufferSize(1);
    }
    void resumeReading()
    {
        reading = true;
        socket.setReadBufferSize(0);
        readFrames();
    }
    // While not reading: takes up to bytes from the system and throws them away, as a
    // client that reads slowly (its frames are lost to it).
    qint64 discard(qint64 bytes)
    {
        socket.setReadBufferSize(bytes);
        return socket.read(bytes).size();
    }

    void sendText(const QByteArray &utf8) { writeFrame(0x1, utf8); }
    void sendPing(const QByteArray &payload) { writeFrame(0x9, payload); }
    void send(int type, const QJsonObject &data)
    {
        sendText(
                compact(QJsonObject{{QStringLiteral("type"), type}, {QStringLiteral("data"), data}})
                        .toUtf8());
    }
    void join(const QString &state)
    {
        send(2, QJsonObject{{QStringLiteral("stateIdentifier"), state}});
    }

    QJsonObject take(int type, int timeout = Timeout)
    {
        QJsonObject found;
        waitUntil([&] { return takeFirstOfType(received, type, &found); }, timeout);
        return found;
    }

    Options options;
    QTcpSocket socket;
    QByteArray answerHead;
    bool handshakeDone = false;
    bool reading = true;
    QList<QJsonObject> received;
    int pingsReceived = 0;
    int textFramesReceived = 0;
    bool closeReceived = false;

Q_SIGNALS:
    void changed();

private:
    void writeFrame(int opcode, const QByteArray &payload)
    {
        // Client frames are masked (RFC 6455, 5.3).
        QByteArray frame;
        frame.append(char(0x80 | opcode));
        const qsizetype size = payload.size();
        if (size < 126) {
            frame.append(char(0x80 | size));
        } else if (size <= 0xffff) {
            frame.append(char(0x80 | 126));
            frame.append(char(size >> 8));
            frame.append(char(size & 0xff));
        } else {
            frame.append(char(0x80 | 127));
            for (int shift = 56; shift >= 0; shift -= 8)
                frame.append(char((quint64(size) >> shift) & 0xff));
        }
        const char mask[4] = {0x12, 0x34, 0x56, 0x78};
        frame.append(mask, 4);
        for (qsizetype i = 0; i < size; ++i)
            frame.append(char(payload.at(i) ^ mask[i % 4]));
        socket.write(frame);
    }

    void readFrames()
    {
        if (!reading)
            return;
        buffer += socket.readAll();
        if (!handshakeDone) {
            const qsizetype end = buffer.indexOf("\r\n\r\n");
            if (end < 0)
                return;
            answerHead = buffer.left(end);
            buffer.remove(0, end + 4);
            handshakeDone = true;
        }
        while (buffer.size() >= 2) {
            const int opcode = uchar(buffer.at(0)) & 0x0f;
            quint64 length = uchar(buffer.at(1)) & 0x7f;
            qsizetype offset = 2;
            if (length == 126) {
                if (buffer.size() < 4)
                    break;
                length = (quint64(uchar(buffer.at(2))) << 8) | uchar(buffer.at(3));
                offset = 4;
            } else if (length == 127) {
                if (buffer.size() < 10)
                    break;
                length = 0;
                for (int i = 0; i < 8; ++i)
                    length = (length << 8) | uchar(buffer.at(2 + i));
                offset = 10;
            }
            if (quint64(buffer.size() - offset) < length)
                break;
            const QByteArray payload = buffer.mid(offset, qsizetype(length));
            buffer.remove(0, offset + qsizetype(length));
            if (opcode == 0x1) {
                ++textFramesReceived;
                received.append(QJsonDocument::fromJson(payload).object());
            } else if (opcode == 0x9) {
                ++pingsReceived;
                if (options.answerPings)
                    writeFrame(0xA, payload);
            } else if (opcode == 0x8) {
                closeReceived = true;
            }
        }
        Q_EMIT changed();
    }

    QByteArray buffer;
};

// A self-signed certificate for 127.0.0.1, made with the openssl command in dir.
struct Certificate
{
    QString certificateFile;
    QString keyFile;
    QSslConfiguration trustingClientConfiguration;
    QString error;
};

inline Certificate makeSelfSignedCertificate(const QTemporaryDir &dir)
{
    Certificate result;
    result.certificateFile = dir.filePath(QStringLiteral("cert.pem"));
    result.keyFile = dir.filePath(QStringLiteral("key.pem"));
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                   QStringLiteral("rsa:2048"), QStringLiteral("-nodes"), QStringLiteral("-days"),
                   QStringLiteral("2"), QStringLiteral("-subj"), QStringLiteral("/CN=127.0.0.1"),
                   QStringLiteral("-addext"), QStringLiteral("subjectAltName=IP:127.0.0.1"),
                   QStringLiteral("-keyout"), result.keyFile, QStringLiteral("-out"),
                   result.certificateFile});
    if (!openssl.waitForFinished(60000) || openssl.exitCode() != 0) {
        result.error = QStringLiteral("openssl failed: ")
                + QString::fromLocal8Bit(openssl.readAllStandardError()) + openssl.errorString();
        return result;
    }
    result.trustingClientConfiguration = QSslConfiguration::defaultConfiguration();
    result.trustingClientConfiguration.setCaCertificates(
            QSslCertificate::fromPath(result.certificateFile));
    return result;
}

} // namespace TestSupport

#endif // TESTSUPPORT_H
