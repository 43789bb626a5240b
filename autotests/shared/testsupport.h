// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef TESTSUPPORT_H
#define TESTSUPPORT_H

// What the suites share: a raw WebSocket peer that speaks JSON messages (to test the
// server exactly as the wire sees it), a raw HTTP handshake (to read status lines the
// WebSocket API hides), and a self-signed certificate made on the spot.

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qprocess.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qtcpsocket.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>
#include <QtWebSockets/qwebsocket.h>
#include <QtWebSockets/qwebsockethandshakeoptions.h>

namespace TestSupport {

inline constexpr int Timeout = 10000;

inline QUrl urlOf(const QStateSyncer &server)
{
    return QUrl(QStringLiteral("%1://127.0.0.1:%2/")
                        .arg(server.isSecure() ? QStringLiteral("wss") : QStringLiteral("ws"))
                        .arg(server.serverPort()));
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

inline QJsonObject parse(const QString &text)
{
    return QJsonDocument::fromJson(text.toUtf8()).object();
}

inline QString compact(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
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
        QDeadlineTimer deadline(timeout);
        while (!predicate()) {
            if (deadline.hasExpired())
                return false;
            QSignalSpy spy(this, &RawClient::changed);
            spy.wait(int(std::clamp<qint64>(deadline.remainingTime(), 1, 100)));
        }
        return true;
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
        waitUntil(
                [&] {
                    for (qsizetype i = 0; i < received.size(); ++i) {
                        if (received.at(i).value(QStringLiteral("type")).toInt() == type) {
                            found = received.takeAt(i);
                            return true;
                        }
                    }
                    return false;
                },
                timeout);
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
    int binaryReceived = 0;
    bool failed = false;
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
