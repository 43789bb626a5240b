// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The server as the wire sees it: the HTTP upgrade and its answers, the v1 and v2
// message shapes, broadcasts, and every kind of malformed input. Peers are raw
// WebSockets and raw TCP sockets, so nothing of QStateSyncClient hides what is sent.

#include "logcapture.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"
#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncHttpRequest>
#include <QStateSyncer>

#include <QtCore/qrandom.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

class tst_ServerWire : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    // transport
    void listensOnPortZeroAndCloses();
    void listenFailsOnABusyPort();
    void missingIdentifierGets401BeforeAnyWebSocket_data();
    void missingIdentifierGets401BeforeAnyWebSocket();
    void rejectedAuthorizationGets401();
    void plainHttpGets426AndMalformedHttpGets400();
    void plainHttpIsHandedToTheHttpHook();
    void countersFollowTraffic();
    void oversizedRequestHeadGets431();
    void silentConnectionIsClosedAfterHandshakeTimeout();
    void unansweredAuthorizationGets503();
    void tokenIsNeverLogged();
    void hostHeaderCannotMoveThePathOrTheQuery();
    void closeDeletesRequestsStillWaiting();
    void peersCannotForgeLogLines();
    void wssWithSelfSignedCertificate();

    // messages
    void joinAnswersWithWholeStateAndVersion();
    void joinUnknownStateAnswersStateNotFound();
    void updateIsBroadcastToEveryClientWithRequestIdForSenderOnly();
    void updateWithoutJoinAnswersNotJoined();
    void v1ClientsStayConsistentAfterNestedUpdates();
    void broadcastIsEncodedOncePerProtocolFlavour();
    void concurrentAppendsAreAllKept();
    void appendToNonArrayAnswersNotAnArray();
    void malformedInputGetsACodeAndTheConnectionStaysUsable_data();
    void malformedInputGetsACodeAndTheConnectionStaysUsable();
    void binaryFrameIsRefused();
    void oversizedMessageClosesWith1009();
    void tooDeepUpdateIsRefusedAndNeverStored();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<LogCapture> m_log;
};

void tst_ServerWire::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_log = std::make_unique<LogCapture>();
}

void tst_ServerWire::init()
{
    LogCapture::clear();
}

void tst_ServerWire::cleanup()
{
    LogCapture::clear();
}

void tst_ServerWire::listensOnPortZeroAndCloses()
{
    QStateSyncer server;
    QSignalSpy listening(&server, &QStateSyncer::listeningChanged);
    QVERIFY(!server.isListening());
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QVERIFY(server.isListening());
    QVERIFY(server.serverPort() != 0);
    QCOMPARE(server.serverAddress(), QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(listening.count(), 1);

    RawClient client;
    QVERIFY(client.open(urlOf(server), "a"));
    QTRY_COMPARE(server.clientCount(), 1);

    const quint16 port = server.serverPort();
    server.close();
    QVERIFY(!server.isListening());
    QCOMPARE(listening.count(), 2);
    QVERIFY(client.waitForDisconnect());
    QCOMPARE(client.socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    QTRY_COMPARE(server.clientCount(), 0);

    QTcpSocket probe;
    probe.connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(!probe.waitForConnected(Timeout));
}

void tst_ServerWire::listenFailsOnABusyPort()
{
    const auto first = startServer();
    QStateSyncer second;
    QVERIFY(!second.listen(QHostAddress::LocalHost, first->serverPort()));
    QVERIFY(!second.errorString().isEmpty());
    QVERIFY(!second.isListening());
}

void tst_ServerWire::missingIdentifierGets401BeforeAnyWebSocket_data()
{
    QTest::addColumn<QByteArray>("target");
    QTest::addRow("no query") << QByteArray("/");
    QTest::addRow("token only") << QByteArray("/?token=abc");
    QTest::addRow("empty identifier") << QByteArray("/?identifier=&token=abc");
}

void tst_ServerWire::missingIdentifierGets401BeforeAnyWebSocket()
{
    QFETCH(QByteArray, target);
    const auto server = startServer();
    QSignalSpy authorization(server.get(), &QStateSyncer::authorizationRequested);
    const HttpAnswer answer = rawRequest(server->serverPort(), upgradeRequest(target));
    QCOMPARE(answer.status, 401);
    QVERIFY(answer.head.startsWith("HTTP/1.1 401 Unauthorized"));
    QVERIFY(!answer.head.contains("Sec-WebSocket-Accept"));
    QVERIFY(answer.closedByServer);
    QCOMPARE(authorization.count(), 0);
    QCOMPARE(server->clientCount(), 0);
    QCOMPARE(LogCapture::linesIn("qstatesync.transport").size(), 1);
}

void tst_ServerWire::rejectedAuthorizationGets401()
{
    const auto server = startServer();
    QString seenToken;
    QString seenIdentifier;
    QByteArray seenHeader;
    QHostAddress seenPeer;
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                seenToken = request->token();
                seenIdentifier = request->clientIdentifier();
                seenHeader = request->header("x-app");
                seenPeer = request->peerAddress();
                QCOMPARE(request->url().path(), QStringLiteral("/chat"));
                QCOMPARE(request->headers().value("x-app").toString(), QStringLiteral("demo"));
                if (request->token() != QLatin1String("good"))
                    request->reject(QStringLiteral("bad token"));
            });

    const HttpAnswer refused = rawRequest(
            server->serverPort(),
            upgradeRequest("/chat?identifier=alice&token=bad%2Bone", "X-App: demo\r\n"));
    QCOMPARE(refused.status, 401);
    QVERIFY(refused.closedByServer);
    QCOMPARE(seenToken, QStringLiteral("bad+one"));
    QCOMPARE(seenIdentifier, QStringLiteral("alice"));
    QCOMPARE(seenHeader, QByteArray("demo"));
    QCOMPARE(seenPeer, QHostAddress(QHostAddress::LocalHost));
    QCOMPARE(server->clientCount(), 0);

    const HttpAnswer accepted
            = rawRequest(server->serverPort(),
                         upgradeRequest("/chat?identifier=alice&token=good", "X-App: demo\r\n"));
    QCOMPARE(accepted.status, 101);
}

void tst_ServerWire::plainHttpGets426AndMalformedHttpGets400()
{
    const auto server = startServer();
    const HttpAnswer plain
            = rawRequest(server->serverPort(), "GET /?identifier=a HTTP/1.1\r\nHost: x\r\n\r\n");
    QCOMPARE(plain.status, 426);
    QVERIFY(plain.closedByServer);
    const HttpAnswer garbage = rawRequest(server->serverPort(), "HELLO\r\n\r\n");
    QCOMPARE(garbage.status, 400);
    const HttpAnswer post = rawRequest(
            server->serverPort(), "POST /?identifier=a HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
    QCOMPARE(post.status, 400);
    // The WebSocket handshake itself is Qt's: a missing key is refused there.
    const HttpAnswer noKey
            = rawRequest(server->serverPort(),
                         "GET /?identifier=a HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
    QVERIFY(noKey.status == 400 || noKey.closedByServer);
    QCOMPARE(server->clientCount(), 0);
}

void tst_ServerWire::plainHttpIsHandedToTheHttpHook()
{
    const auto server = startServer();
    QPointer<QStateSyncHttpRequest> deferred;
    connect(server.get(), &QStateSyncer::httpRequested, this, [&](QStateSyncHttpRequest *request) {
        if (request->path() == QLatin1String("/healthz")) {
            QCOMPARE(request->header("x-probe"), QByteArray("1"));
            request->respond(200, "ok\n");
        } else if (request->path() == QLatin1String("/later")) {
            request->defer();
            deferred = request;
        }
    });
    auto fetch = [&](const QByteArray &method, const QByteArray &path) {
        return rawRequest(server->serverPort(),
                          method + ' ' + path + " HTTP/1.1\r\nHost: x\r\nX-Probe: 1\r\n\r\n");
    };
    const HttpAnswer health = fetch("GET", "/healthz");
    QCOMPARE(health.status, 200);
    QVERIFY(health.head.contains("Content-Length: 3"));
    QVERIFY(health.closedByServer);
    QCOMPARE(fetch("HEAD", "/healthz").status, 200);
    QCOMPARE(fetch("GET", "/other").status, 426);
    QCOMPARE(fetch("POST", "/healthz").status, 405);

    QTcpSocket later;
    later.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(later.waitForConnected(Timeout));
    later.write("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    QTRY_VERIFY(deferred);
    QCOMPARE(later.bytesAvailable(), 0);
    deferred->respond(404, "{}", "application/json");
    QTRY_VERIFY(later.bytesAvailable() > 0);
    QVERIFY(later.readAll().startsWith("HTTP/1.1 404 Not Found"));
}

void tst_ServerWire::countersFollowTraffic()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInterceptStateUpdate([](const QJsonObject &updates, const QVariantMap &) {
        return updates.contains("no") ? std::nullopt : std::optional(updates);
    });
    server->createState(options);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"x", 1}}, 1);
    QVERIFY(!client.take(3).isEmpty());
    client.update(QJsonObject{{"no", 1}}, 2);
    QVERIFY(!client.take(9).isEmpty());
    client.sendText("not json");
    QVERIFY(!client.take(25).isEmpty());
    server->updateStateValue("s", QJsonObject{{"y", 1}});
    QVERIFY(!client.take(3).isEmpty());

    QCOMPARE(server->messagesReceived(), 4u); // join, two updates, the bad one
    QCOMPARE(server->messagesRefused(), 1u);
    QCOMPARE(server->updatesApplied(), 2u);
    QCOMPARE(server->updatesRefused(), 1u);
    QVERIFY(server->bytesReceived() > 50);
    QVERIFY(server->bytesSent() > 100);
}

void tst_ServerWire::oversizedRequestHeadGets431()
{
    const auto server = startServer();
    const QByteArray huge = "X-Filler: " + QByteArray(20000, 'x') + "\r\n";
    const HttpAnswer answer
            = rawRequest(server->serverPort(), upgradeRequest("/?identifier=a", huge));
    QCOMPARE(answer.status, 431);
}

void tst_ServerWire::silentConnectionIsClosedAfterHandshakeTimeout()
{
    const auto server = startServer();
    server->setHandshakeTimeout(300);
    QTcpSocket silent;
    silent.connectToHost(QHostAddress::LocalHost, server->serverPort());
    QVERIFY(silent.waitForConnected(Timeout));
    QSignalSpy disconnected(&silent, &QTcpSocket::disconnected);
    QVERIFY(disconnected.wait(Timeout));

    // A head that arrives in parts before the deadline is fine.
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
}

void tst_ServerWire::unansweredAuthorizationGets503()
{
    const auto server = startServer();
    server->setHandshakeTimeout(300);
    QPointer<QStateSyncAuthorizationRequest> kept;
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                request->defer();
                kept = request;
            });
    const HttpAnswer answer = rawRequest(server->serverPort(), upgradeRequest("/?identifier=a"));
    QCOMPARE(answer.status, 503);
    QTRY_VERIFY(!kept || kept->status() == QStateSyncRequest::Cancelled);
}

void tst_ServerWire::tokenIsNeverLogged()
{
    const auto server = startServer();
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) { request->reject(); });
    const HttpAnswer answer = rawRequest(server->serverPort(),
                                         upgradeRequest("/?identifier=alice&token=s3cr3t-t0ken"));
    QCOMPARE(answer.status, 401);
    QVERIFY(!LogCapture::all().isEmpty());
    for (const QString &line : LogCapture::all())
        QVERIFY2(!line.contains(QLatin1String("s3cr3t")), qPrintable(line));
}

void tst_ServerWire::hostHeaderCannotMoveThePathOrTheQuery()
{
    const auto server = startServer();
    QString seenPath;
    QString seenIdentifier;
    connect(server.get(), &QStateSyncer::httpRequested, this, [&](QStateSyncHttpRequest *request) {
        seenPath = request->path();
        request->respond(200, "ok");
    });
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                seenIdentifier = request->clientIdentifier();
            });
    auto get = [&](const QByteArray &host, const QByteArray &target) {
        return rawRequest(server->serverPort(),
                          "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    };
    QCOMPARE(get("x/metrics#", "/healthz").status, 400);
    QCOMPARE(get("x", "/healthz#/metrics").status, 400);
    QVERIFY(seenPath.isEmpty());
    QCOMPARE(get("example.org:8080", "/healthz").status, 200);
    QCOMPARE(seenPath, QStringLiteral("/healthz"));
    QCOMPARE(get("[::1]:5000", "/healthz").status, 200);

    const HttpAnswer forged = rawRequest(
            server->serverPort(),
            upgradeRequest("/?identifier=bob", "Host: h?identifier=admin&token=forged#\r\n")
                    .replace("Host: 127.0.0.1\r\n", ""));
    QCOMPARE(forged.status, 400);
    QVERIFY(seenIdentifier.isEmpty());
}

void tst_ServerWire::closeDeletesRequestsStillWaiting()
{
    QStateSyncer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QList<QPointer<QStateSyncAuthorizationRequest>> authorizations;
    QList<QPointer<QStateSyncHttpRequest>> httpRequests;
    connect(&server, &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                request->defer();
                authorizations.append(request);
            });
    connect(&server, &QStateSyncer::httpRequested, this, [&](QStateSyncHttpRequest *request) {
        request->defer();
        httpRequests.append(request);
    });
    QTcpSocket upgrade;
    QTcpSocket plain;
    upgrade.connectToHost(QHostAddress::LocalHost, server.serverPort());
    plain.connectToHost(QHostAddress::LocalHost, server.serverPort());
    QVERIFY(upgrade.waitForConnected(Timeout) && plain.waitForConnected(Timeout));
    upgrade.write(upgradeRequest("/?identifier=a"));
    plain.write("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
    QTRY_COMPARE(authorizations.size() + httpRequests.size(), 2);
    server.close();
    QTRY_VERIFY(!authorizations.first() && !httpRequests.first());
}

void tst_ServerWire::peersCannotForgeLogLines()
{
    const auto server = startServer();
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "evil%0Aqstatesync.server:%20all%20is%20well"));
    LogCapture::clear();
    client.sendText("not json");
    QVERIFY(!client.take(25).isEmpty());
    client.join("state\nwith a newline");
    QVERIFY(!client.take(8).isEmpty());
    const QStringList lines = LogCapture::linesIn("qstatesync.server");
    QCOMPARE(lines.size(), 2);
    for (const QString &line : lines)
        QVERIFY2(!line.contains(QLatin1Char('\n')), qPrintable(line));
    QVERIFY(lines.first().contains(QLatin1String("evil\\u000a")));
}

void tst_ServerWire::wssWithSelfSignedCertificate()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("This Qt has no TLS backend");
    const Certificate certificate = makeSelfSignedCertificate(m_dir);
    QVERIFY2(certificate.error.isEmpty(), qPrintable(certificate.error));

    QStateSyncer server;
    QSignalSpy secureChanged(&server, &QStateSyncer::secureChanged);
    QVERIFY(!server.setCertificateFiles(m_dir.filePath("missing.pem"), certificate.keyFile));
    QVERIFY(!server.setCertificateFiles(certificate.certificateFile, m_dir.filePath("nokey")));
    QVERIFY(!server.isSecure());
    QVERIFY(server.setCertificateFiles(certificate.certificateFile, certificate.keyFile));
    QVERIFY(server.isSecure());
    QCOMPARE(secureChanged.count(), 1);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QStateSyncStateOptions options;
    options.setIdentifier("secret");
    server.createState(options);

    const QUrl url = urlOf(server);
    QCOMPARE(url.scheme(), QStringLiteral("wss"));
    RawClient a;
    RawClient b;
    QVERIFY(a.open(url, "a", QString(), certificate.trustingClientConfiguration));
    QVERIFY(b.open(url, "b", QString(), certificate.trustingClientConfiguration));
    a.joinAndWait("secret");
    b.joinAndWait("secret");
    a.update(QJsonObject{{"over", "tls"}}, 1);
    QCOMPARE(b.takeData(3).value("updates").toObject().value("over").toString(),
             QStringLiteral("tls"));
    QCOMPARE(a.takeData(3).value("requestId").toInt(), 1);

    // A client that does not trust the certificate does not get in.
    RawClient untrusting;
    QVERIFY(!untrusting.open(url, "c"));
}

void tst_ServerWire::joinAnswersWithWholeStateAndVersion()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInitialValue(QJsonObject{{"a", QJsonObject{{"b", 1}}}});
    server->createState(options);
    server->updateStateValue("s", QJsonObject{{"c", 2}});

    RawClient v1(RawClient::V1);
    QVERIFY(v1.open(urlOf(*server), "one"));
    QCOMPARE(v1.socket.subprotocol(), QString());
    const QJsonObject established = v1.joinAndWait("s");
    QCOMPARE(established.value("state").toObject(),
             QJsonObject({{"a", QJsonObject{{"b", 1}}}, {"c", 2}}));
    QCOMPARE(established.value("version").toInt(), 1);
    QCOMPARE(established.value("stateIdentifier").toString(), QStringLiteral("s"));
    QCOMPARE(established.value("mergeMode").toString(), QStringLiteral("deep"));

    RawClient v2;
    QVERIFY(v2.open(urlOf(*server), "two"));
    QCOMPARE(v2.socket.subprotocol(), QStringLiteral("qstatesync.v2"));
    QCOMPARE(v2.joinAndWait("s").value("version").toInt(), 1);
}

void tst_ServerWire::joinUnknownStateAnswersStateNotFound()
{
    const auto server = startServer();
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.join("nope");
    const QJsonObject error = client.takeData(8);
    QCOMPARE(error.value("code").toString(), QStringLiteral("state_not_found"));
    QCOMPARE(error.value("stateIdentifier").toString(), QStringLiteral("nope"));
    QVERIFY(!error.value("message").toString().isEmpty());
}

void tst_ServerWire::updateIsBroadcastToEveryClientWithRequestIdForSenderOnly()
{
    const auto server = startServer();
    createState(*server, "room");

    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(std::make_unique<RawClient>(i % 2 ? RawClient::V1 : RawClient::V2));
        QVERIFY(clients.back()->open(urlOf(*server), QStringLiteral("c%1").arg(i)));
        clients.back()->joinAndWait("room");
    }
    clients[0]->update(QJsonObject{{"title", "hello"}}, "req-1");
    for (size_t i = 0; i < clients.size(); ++i) {
        const QJsonObject data = clients[i]->takeData(3);
        QCOMPARE(data.value("updates").toObject().value("title").toString(),
                 QStringLiteral("hello"));
        QCOMPARE(data.value("version").toInt(), 1);
        if (i == 0)
            QCOMPARE(data.value("requestId").toString(), QStringLiteral("req-1"));
        else
            QVERIFY(!data.contains("requestId"));
    }
    clients[1]->update(QJsonObject{{"title", "again"}});
    for (auto &client : clients)
        QCOMPARE(client->takeData(3).value("version").toInt(), 2);
    QCOMPARE(server->versionOfState("room"), 2);
}

void tst_ServerWire::updateWithoutJoinAnswersNotJoined()
{
    const auto server = startServer();
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.update(QJsonObject{{"x", 1}}, 5);
    const QJsonObject error = client.takeData(9);
    QCOMPARE(error.value("code").toString(), QStringLiteral("not_joined"));
    QCOMPARE(error.value("requestId").toInt(), 5);
    client.append(QJsonObject{{"x", QJsonArray{1}}});
    QCOMPARE(client.takeData(9).value("code").toString(), QStringLiteral("not_joined"));
}

void tst_ServerWire::v1ClientsStayConsistentAfterNestedUpdates()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("doc");
    options.setInitialValue(QJsonObject{
            {"meta", QJsonObject{{"title", "t"}, {"tags", QJsonArray{"a"}}}}, {"body", "b"}});
    server->createState(options);

    RawClient v1(RawClient::V1);
    RawClient v2;
    QVERIFY(v1.open(urlOf(*server), "v1"));
    QVERIFY(v2.open(urlOf(*server), "v2"));
    QJsonObject v1Copy = v1.joinAndWait("doc").value("state").toObject();
    QJsonObject v2Copy = v2.joinAndWait("doc").value("state").toObject();

    // Random nested updates and deletions from both clients, applied the way each kind
    // of client applies broadcasts: v1 one level deep, v2 as a merge patch.
    QRandomGenerator random(7);
    const QStringList keys{"meta", "body", "extra", "list"};
    for (int round = 0; round < 60; ++round) {
        const QString key = keys.at(random.bounded(int(keys.size())));
        QJsonObject updates;
        switch (random.bounded(4)) {
        case 0:
            updates.insert(key,
                           QJsonObject{{QStringLiteral("n%1").arg(random.bounded(3)),
                                        random.bounded(100)}});
            break;
        case 1:
            updates.insert(
                    key,
                    QJsonObject{{"deep", QJsonObject{{"x", round}}}, {"title", QJsonValue::Null}});
            break;
        case 2:
            updates.insert(key, QJsonValue::Null);
            break;
        default:
            updates.insert(key, QJsonArray{round, "item"});
            break;
        }
        RawClient &sender = round % 2 ? v1 : v2;
        sender.update(updates, round);
        const QJsonObject forV1 = v1.takeData(3).value("updates").toObject();
        const QJsonObject forV2 = v2.takeData(3).value("updates").toObject();
        QCOMPARE(forV1.keys(), updates.keys());
        QStateSyncMerge::applyShallow(v1Copy, forV1);
        QStateSyncMerge::applyMergePatch(v2Copy, forV2);

        const QJsonObject serverValue = *server->valueOfState("doc");
        QCOMPARE(v2Copy, serverValue);
        // A v1 client cannot delete a key: it holds null where the server has nothing.
        QJsonObject v1WithoutNulls = v1Copy;
        for (const QString &k : v1Copy.keys()) {
            if (v1Copy.value(k).isNull())
                v1WithoutNulls.remove(k);
        }
        QCOMPARE(v1WithoutNulls, serverValue);
    }
}

void tst_ServerWire::broadcastIsEncodedOncePerProtocolFlavour()
{
    const auto server = startServer();
    createState(*server, "s");
    std::vector<std::unique_ptr<RawClient>> v2Clients;
    for (int i = 0; i < 10; ++i) {
        v2Clients.push_back(std::make_unique<RawClient>(RawClient::V2));
        QVERIFY(v2Clients.back()->open(urlOf(*server), QStringLiteral("v2-%1").arg(i)));
        v2Clients.back()->joinAndWait("s");
    }

    quint64 before = QStateSyncProtocol::Broadcast::encodedCount();
    v2Clients[0]->update(QJsonObject{{"a", 1}}, 1);
    for (auto &client : v2Clients)
        QVERIFY(!client->take(3).isEmpty());
    QCOMPARE(QStateSyncProtocol::Broadcast::encodedCount() - before, 1u);

    std::vector<std::unique_ptr<RawClient>> v1Clients;
    for (int i = 0; i < 10; ++i) {
        v1Clients.push_back(std::make_unique<RawClient>(RawClient::V1));
        QVERIFY(v1Clients.back()->open(urlOf(*server), QStringLiteral("v1-%1").arg(i)));
        v1Clients.back()->joinAndWait("s");
    }
    before = QStateSyncProtocol::Broadcast::encodedCount();
    v1Clients[0]->update(QJsonObject{{"a", 2}}, 2);
    for (auto &client : v2Clients)
        QVERIFY(!client->take(3).isEmpty());
    for (auto &client : v1Clients)
        QVERIFY(!client->take(3).isEmpty());
    QCOMPARE(QStateSyncProtocol::Broadcast::encodedCount() - before, 2u);
}

void tst_ServerWire::concurrentAppendsAreAllKept()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("chat");
    options.setInitialValue(QJsonObject{{"chatMessages", QJsonArray()}});
    server->createState(options);
    RawClient alice;
    RawClient bob;
    RawClient v1(RawClient::V1);
    QVERIFY(alice.open(urlOf(*server), "alice"));
    QVERIFY(bob.open(urlOf(*server), "bob"));
    QVERIFY(v1.open(urlOf(*server), "v1"));
    alice.joinAndWait("chat");
    bob.joinAndWait("chat");
    v1.joinAndWait("chat");

    // Both messages leave before either client saw the other's.
    alice.append(QJsonObject{{"chatMessages", QJsonArray{QJsonObject{{"content", "hi"}}}}}, 1);
    bob.append(QJsonObject{{"chatMessages", QJsonArray{QJsonObject{{"content", "yo"}}}}}, 1);

    for (RawClient *client : {&alice, &bob}) {
        const QJsonObject first = client->takeData(22);
        const QJsonObject second = client->takeData(22);
        QCOMPARE(first.value("appends").toObject().value("chatMessages").toArray().size(), 1);
        QCOMPARE(second.value("version").toInt(), 2);
    }
    // Nothing more: a join answered after both appends finds no third broadcast before it.
    alice.joinAndWait("chat");
    QVERIFY(alice.take(22, 0).isEmpty());
    v1.takeData(3);
    const QJsonArray whole
            = v1.takeData(3).value("updates").toObject().value("chatMessages").toArray();
    QCOMPARE(whole.size(), 2);
    QCOMPARE(server->valueOfState("chat")->value("chatMessages").toArray(), whole);
}

void tst_ServerWire::appendToNonArrayAnswersNotAnArray()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInitialValue(QJsonObject{{"title", "text"}});
    server->createState(options);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.append(QJsonObject{{"title", QJsonArray{1}}}, 9);
    const QJsonObject error = client.takeData(9);
    QCOMPARE(error.value("code").toString(), QStringLiteral("not_an_array"));
    QCOMPARE(error.value("requestId").toInt(), 9);
    QCOMPARE(server->versionOfState("s"), 0);
}

void tst_ServerWire::malformedInputGetsACodeAndTheConnectionStaysUsable_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("replyType");
    QTest::addColumn<QString>("code");

    QTest::addRow("not json") << "{oops" << 25 << "invalid_json";
    QTest::addRow("empty text") << "" << 25 << "invalid_json";
    QTest::addRow("json array") << "[]" << 25 << "invalid_message";
    QTest::addRow("json number") << "42" << 25 << "invalid_json";
    QTest::addRow("type missing") << R"({"data":{}})" << 25 << "invalid_message";
    QTest::addRow("type as string") << R"({"type":"3"})" << 25 << "invalid_message";
    QTest::addRow("type as object") << R"({"type":{}})" << 25 << "invalid_message";
    QTest::addRow("huge number") << R"({"type":3,"data":{"updates":{"n":1e999}}})" << 25
                                 << "invalid_json";
    QTest::addRow("unknown type") << R"({"type":77,"data":{}})" << 10 << "unsupported_message_type";
    QTest::addRow("server-only type")
            << R"({"type":7,"data":{}})" << 10 << "unsupported_message_type";
    QTest::addRow("data is a string") << R"({"type":3,"data":"x"})" << 9 << "invalid_message";
    QTest::addRow("join without identifier")
            << R"({"type":2,"data":{}})" << 8 << "missing_state_identifier";
    QTest::addRow("join with numeric identifier")
            << R"({"type":2,"data":{"stateIdentifier":12}})" << 8 << "invalid_message";
    QTest::addRow("update without updates") << R"({"type":3,"data":{}})" << 9 << "missing_updates";
    QTest::addRow("updates as array")
            << R"({"type":3,"data":{"updates":[1]}})" << 9 << "invalid_message";
    QTest::addRow("updates as string")
            << R"({"type":3,"data":{"updates":"a"}})" << 9 << "invalid_message";
    QTest::addRow("request id as object")
            << R"({"type":3,"data":{"updates":{},"requestId":{}}})" << 9 << "invalid_message";
    QTest::addRow("append of non-array")
            << R"({"type":20,"data":{"appends":{"m":1}}})" << 9 << "invalid_message";
    QTest::addRow("leave while not joined") << R"({"type":21,"data":null})" << 25 << "not_joined";
    QTest::addRow("deep nesting") << QStringLiteral(
                                             "{\"type\":3,\"data\":{\"updates\":{\"a\":%1%2}}}")
                                             .arg(QString(200, u'['), QString(200, u']'))
                                  << 9 << "nesting_too_deep";
}

void tst_ServerWire::malformedInputGetsACodeAndTheConnectionStaysUsable()
{
    QFETCH(QString, text);
    QFETCH(int, replyType);
    QFETCH(QString, code);

    const auto server = startServer();
    createState(*server, "s");
    RawClient bystander;
    QVERIFY(bystander.open(urlOf(*server), "bystander"));
    bystander.joinAndWait("s");
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    LogCapture::clear();

    client.sendText(text);
    const QJsonObject error = client.takeData(replyType);
    QCOMPARE(error.value("code").toString(), code);
    QVERIFY(!error.value("message").toString().isEmpty());
    QCOMPARE(LogCapture::linesIn("qstatesync.server").size(), 1);

    // The same connection still works, and so does everyone else's.
    client.joinAndWait("s");
    client.update(QJsonObject{{"ok", true}}, 1);
    QCOMPARE(client.takeData(3).value("requestId").toInt(), 1);
    QCOMPARE(bystander.takeData(3).value("updates").toObject().value("ok").toBool(), true);
    QCOMPARE(server->valueOfState("s"), std::optional(QJsonObject{{"ok", true}}));
}

void tst_ServerWire::binaryFrameIsRefused()
{
    const auto server = startServer();
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.socket.sendBinaryMessage(QByteArray("\x01\x02\x03", 3));
    QCOMPARE(client.takeData(25).value("code").toString(), QStringLiteral("invalid_message"));
    client.join("none");
    QCOMPARE(client.takeData(8).value("code").toString(), QStringLiteral("state_not_found"));
}

void tst_ServerWire::oversizedMessageClosesWith1009()
{
    const auto server = startServer();
    server->setMaxMessageSize(1024);
    createState(*server, "s");
    RawClient other;
    QVERIFY(other.open(urlOf(*server), "other"));
    other.joinAndWait("s");
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "big"));
    client.joinAndWait("s");

    client.update(QJsonObject{{"blob", QString(4096, u'x')}});
    QVERIFY(client.waitForDisconnect());
    QCOMPARE(client.socket.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
    QCOMPARE(server->versionOfState("s"), 0);
    QTRY_COMPARE(server->clientsOfState("s"), QStringList{"other"});

    other.update(QJsonObject{{"small", 1}}, 1);
    QCOMPARE(other.takeData(3).value("requestId").toInt(), 1);
}

void tst_ServerWire::tooDeepUpdateIsRefusedAndNeverStored()
{
    const auto server = startServer();
    createState(*server, "s");
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");

    // The original stored such an update, and every later join failed.
    const QString deep
            = QStringLiteral("{\"type\":3,\"data\":{\"requestId\":3,\"updates\":{\"a\":%1%2}}}")
                      .arg(QString(100000, u'['), QString(100000, u']'));
    client.sendText(deep);
    // Too deep for the JSON parser to read the request id: the answer is a protocol error.
    QCOMPARE(client.takeData(25).value("code").toString(), QStringLiteral("nesting_too_deep"));
    QCOMPARE(server->valueOfState("s"), std::optional(QJsonObject()));

    RawClient later;
    QVERIFY(later.open(urlOf(*server), "later"));
    QCOMPARE(later.joinAndWait("s").value("state").toObject(), QJsonObject());
}

QTEST_GUILESS_MAIN(tst_ServerWire)
#include "tst_serverwire.moc"
