// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// QStateSyncer's limits on what one client, one state and the whole server may use, and
// what a client learns about states it may not join.

#include "logcapture.h"
#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncHttpRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncer>

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qrandom.h>
#include <QtCore/qtimer.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

namespace {
qint64 compactSize(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact).size();
}

QString codeOf(const QJsonObject &data)
{
    return data.value(QStringLiteral("code")).toString();
}
} // namespace

class tst_Limits : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();

    void defaultsAndNotifications();
    void stateSizeIsKeptExactly_data();
    void stateSizeIsKeptExactly();
    void changeBeyondMaxStateSizeIsRefused();
    void joinBeyondMaxClientsPerStateGetsStateFull();
    void upgradeBeyondMaxClientsGets503();
    void connectionsBeyondMaxPendingHandshakesGet503();
    void updatesOverTheRateAreRefused_data();
    void updatesOverTheRateAreRefused();
    void rateRefillsWithTime();
    void hiddenStatesGiveTheSameAnswerToTheByte();
    void revealedStatesGiveDistinctAnswers();

private:
    std::unique_ptr<LogCapture> m_log;
};

void tst_Limits::initTestCase()
{
    m_log = std::make_unique<LogCapture>();
}

void tst_Limits::init()
{
    LogCapture::clear();
}

void tst_Limits::defaultsAndNotifications()
{
    QStateSyncer server;
    QCOMPARE(server.heartbeatInterval(), 30000);
    QCOMPARE(server.maxStateSize(), 16 * 1024 * 1024);
    QCOMPARE(server.maxClientsPerState(), 1000);
    QCOMPARE(server.maxClients(), 10000);
    QCOMPARE(server.updateRate(), 100.0);
    QCOMPARE(server.updateBurst(), 200);
    QCOMPARE(server.maxPendingHandshakes(), 1000);
    QCOMPARE(server.maxPendingOutput(), 4 * 1024 * 1024);
    QCOMPARE(server.revealStateExistence(), false);

    // Each setter notifies once per change, ignores values out of range, and 0 is "no
    // limit" where the property says so.
    QSignalSpy heartbeat(&server, &QStateSyncer::heartbeatIntervalChanged);
    server.setHeartbeatInterval(0);
    server.setHeartbeatInterval(0);
    server.setHeartbeatInterval(-1);
    QCOMPARE(heartbeat.count(), 1);
    QCOMPARE(server.heartbeatInterval(), 0);

    QSignalSpy stateSize(&server, &QStateSyncer::maxStateSizeChanged);
    server.setMaxStateSize(-5);
    server.setMaxStateSize(100);
    QCOMPARE(stateSize.count(), 1);
    QCOMPARE(server.maxStateSize(), 100);

    QSignalSpy perState(&server, &QStateSyncer::maxClientsPerStateChanged);
    QSignalSpy clients(&server, &QStateSyncer::maxClientsChanged);
    QSignalSpy handshakes(&server, &QStateSyncer::maxPendingHandshakesChanged);
    QSignalSpy output(&server, &QStateSyncer::maxPendingOutputChanged);
    server.setMaxClientsPerState(3);
    server.setMaxClients(0);
    server.setMaxPendingHandshakes(7);
    server.setMaxPendingOutput(4096);
    QCOMPARE(perState.count() + clients.count() + handshakes.count() + output.count(), 4);
    QCOMPARE(server.maxClientsPerState(), 3);
    QCOMPARE(server.maxClients(), 0);
    QCOMPARE(server.maxPendingHandshakes(), 7);
    QCOMPARE(server.maxPendingOutput(), 4096);

    QSignalSpy rate(&server, &QStateSyncer::updateRateChanged);
    QSignalSpy burst(&server, &QStateSyncer::updateBurstChanged);
    server.setUpdateRate(0.5);
    server.setUpdateRate(-1);
    server.setUpdateRate(qQNaN());
    server.setUpdateBurst(0);
    server.setUpdateBurst(5);
    QCOMPARE(rate.count(), 1);
    QCOMPARE(burst.count(), 1);
    QCOMPARE(server.updateRate(), 0.5);
    QCOMPARE(server.updateBurst(), 5);

    QSignalSpy reveal(&server, &QStateSyncer::revealStateExistenceChanged);
    server.setRevealStateExistence(true);
    server.setRevealStateExistence(true);
    QCOMPARE(reveal.count(), 1);
    QVERIFY(server.revealStateExistence());
    QCOMPARE(server.sizeOfState("none"), -1);
}

void tst_Limits::stateSizeIsKeptExactly_data()
{
    QTest::addColumn<QStateSync::MergeMode>("mode");
    QTest::addRow("deep") << QStateSync::MergeMode::Deep;
    QTest::addRow("shallow") << QStateSync::MergeMode::Shallow;
}

void tst_Limits::stateSizeIsKeptExactly()
{
    // The size is kept per top-level key, never by encoding the whole state again: after
    // any mix of changes it must still be the size of the state's compact JSON.
    QFETCH(QStateSync::MergeMode, mode);
    QStateSyncer server;
    server.setMaxStateSize(0);
    const QJsonObject initial{{"title", "Draft \"1\""}, {"list", QJsonArray{1, 2}}};
    createState(server, "s", initial, mode);
    QCOMPARE(server.sizeOfState("s"), compactSize(initial));

    QRandomGenerator random(4242);
    const QStringList keys{"title", "list", "doc", "ünïcode\n", "n"};
    const QList<QJsonValue> values{
            QJsonValue::Null,
            1.5,
            -3,
            1e300,
            "text\t\"q\"",
            QStringLiteral("日本語"),
            true,
            QJsonArray{},
            QJsonArray{1, QJsonObject{{"a", QJsonValue::Null}}},
            QJsonObject{},
            QJsonObject{{"x", 1}, {"y", QJsonObject{{"z", QJsonValue::Null}}}}};
    for (int round = 0; round < 400; ++round) {
        const QString key = keys.at(random.bounded(int(keys.size())));
        if (random.bounded(3) == 0) {
            QJsonArray items;
            for (int i = random.bounded(3); i > 0; --i)
                items.append(values.at(random.bounded(int(values.size()))));
            server.appendToState("s", QJsonObject{{key, items}});
        } else {
            server.updateStateValue(
                    "s", QJsonObject{{key, values.at(random.bounded(int(values.size())))}});
        }
        QCOMPARE(server.sizeOfState("s"), compactSize(*server.valueOfState("s")));
    }
    // Both kinds of change were applied, and some appends were refused (not arrays).
    QVERIFY(server.updatesApplied() > 300);
    QVERIFY(server.updatesRefused() > 0);
}

void tst_Limits::changeBeyondMaxStateSizeIsRefused()
{
    const auto server = startServer();
    server->setMaxStateSize(100);
    createState(*server, "s", QJsonObject{{"list", QJsonArray()}});
    RawClient client;
    RawClient other(RawClient::V1);
    QVERIFY(client.open(urlOf(*server), "a"));
    QVERIFY(other.open(urlOf(*server), "b"));
    client.joinAndWait("s");
    other.joinAndWait("s");

    client.update(QJsonObject{{"text", QString(40, u'x')}}, 1);
    QCOMPARE(client.takeData(3).value("requestId").toInt(), 1);
    QVERIFY(!other.take(3).isEmpty());
    const QJsonObject before = *server->valueOfState("s");
    QVERIFY(server->sizeOfState("s") <= 100);

    LogCapture::clear();
    client.update(QJsonObject{{"more", QString(60, u'y')}}, 2);
    QJsonObject refused = client.takeData(9);
    QCOMPARE(codeOf(refused), QStringLiteral("state_too_large"));
    QCOMPARE(refused.value("requestId").toInt(), 2);
    client.append(QJsonObject{{"list", QJsonArray{QString(80, u'z')}}}, 3);
    refused = client.takeData(9);
    QCOMPARE(codeOf(refused), QStringLiteral("state_too_large"));
    QCOMPARE(refused.value("requestId").toInt(), 3);
    QCOMPARE(LogCapture::linesIn("qstatesync.server").size(), 2);
    // Nothing changed, nothing was sent, and both refusals were counted.
    QCOMPARE(*server->valueOfState("s"), before);
    QCOMPARE(server->versionOfState("s"), 1);
    QCOMPARE(server->updatesRefused(), 2u);
    QVERIFY(!server->updateStateValue("none", {}));
    server->updateStateValue("s", QJsonObject{{"server", QString(90, u'w')}});
    QCOMPARE(server->versionOfState("s"), 1);
    QCOMPARE(server->updatesRefused(), 3u);

    // A state over a lowered limit may still shrink, not grow.
    server->setMaxStateSize(20);
    client.update(QJsonObject{{"grow", 1}}, 4);
    QCOMPARE(codeOf(client.takeData(9)), QStringLiteral("state_too_large"));
    client.update(QJsonObject{{"text", QJsonValue::Null}}, 5);
    QCOMPARE(client.takeData(3).value("requestId").toInt(), 5);
    QCOMPARE(server->sizeOfState("s"), compactSize(*server->valueOfState("s")));
    // The v1 client saw exactly the applied change.
    QCOMPARE(other.takeData(3).value("updates").toObject(),
             QJsonObject({{"text", QJsonValue::Null}}));
}

void tst_Limits::joinBeyondMaxClientsPerStateGetsStateFull()
{
    const auto server = startServer();
    server->setMaxClientsPerState(2);
    createState(*server, "room");
    createState(*server, "other");
    RawClient a;
    RawClient b;
    RawClient c(RawClient::V1);
    for (RawClient *client : {&a, &b, &c})
        QVERIFY(client->open(urlOf(*server), "c"));
    a.joinAndWait("room");
    c.joinAndWait("other");
    b.joinAndWait("room");

    LogCapture::clear();
    c.join("room");
    const QJsonObject full = c.takeData(8);
    QCOMPARE(codeOf(full), QStringLiteral("state_full"));
    QCOMPARE(full.value("stateIdentifier").toString(), QStringLiteral("room"));
    QCOMPARE(server->messagesRefused(), 1u);
    QCOMPARE(LogCapture::linesIn("qstatesync.server").size(), 1);
    // The refused client stays where it was; a joined client may still resync.
    QCOMPARE(server->clientsOfState("other").size(), 1);
    QCOMPARE(server->clientsOfState("room").size(), 2);
    QCOMPARE(a.joinAndWait("room").value("stateIdentifier").toString(), QStringLiteral("room"));

    // Room made by a leave.
    a.send(21, QJsonObject());
    QVERIFY(!a.take(23).isEmpty());
    QCOMPARE(c.joinAndWait("room").value("stateIdentifier").toString(), QStringLiteral("room"));
    QCOMPARE(server->clientsOfState("other").size(), 0);
}

void tst_Limits::upgradeBeyondMaxClientsGets503()
{
    const auto server = startServer();
    server->setMaxClients(1);
    int authorizations = 0;
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *) { ++authorizations; });
    connect(server.get(), &QStateSyncer::httpRequested, this,
            [](QStateSyncHttpRequest *request) { request->respond(200, "ok\n"); });
    auto first = std::make_unique<RawClient>();
    QVERIFY(first->open(urlOf(*server), "first"));
    QTRY_COMPARE(server->clientCount(), 1);
    QCOMPARE(authorizations, 1);

    LogCapture::clear();
    const HttpAnswer refused = rawRequest(server->serverPort(), upgradeRequest("/?identifier=b"));
    QCOMPARE(refused.status, 503);
    QVERIFY(refused.head.contains("\r\nRetry-After: 5\r\n"));
    QVERIFY(refused.closedByServer);
    QCOMPARE(authorizations, 1); // refused before authorization
    QCOMPARE(server->connectionsRefused(), 1u);
    const QStringList lines = LogCapture::linesIn("qstatesync.transport");
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines.first().contains(QLatin1String("503")), qPrintable(lines.first()));
    // Health checks still work on a full server.
    QCOMPARE(rawRequest(server->serverPort(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").status,
             200);

    first.reset();
    QTRY_COMPARE(server->clientCount(), 0);
    RawClient second;
    QVERIFY(second.open(urlOf(*server), "second"));
}

void tst_Limits::connectionsBeyondMaxPendingHandshakesGet503()
{
    const auto server = startServer();
    server->setMaxPendingHandshakes(2);
    // Two connections that send nothing hold both places.
    auto silent = std::make_unique<std::array<QTcpSocket, 2>>();
    for (QTcpSocket &socket : *silent) {
        socket.connectToHost(QHostAddress::LocalHost, server->serverPort());
        QVERIFY(socket.waitForConnected(Timeout));
    }
    LogCapture::clear();
    // The server takes connections in order: a third one, however complete, is refused
    // at once.
    const HttpAnswer refused = rawRequest(server->serverPort(), upgradeRequest("/?identifier=x"));
    QCOMPARE(refused.status, 503);
    QVERIFY(refused.head.contains("\r\nRetry-After: 5\r\n"));
    QVERIFY(refused.closedByServer);
    QCOMPARE(server->connectionsRefused(), 1u);
    QCOMPARE(LogCapture::linesIn("qstatesync.transport").size(), 1);
    QCOMPARE(server->clientCount(), 0);

    // Once they are gone, connections are taken again.
    silent.reset();
    QTRY_COMPARE(rawRequest(server->serverPort(), upgradeRequest("/?identifier=y")).status, 101);
}

void tst_Limits::updatesOverTheRateAreRefused_data()
{
    QTest::addColumn<int>("flavour");
    QTest::addRow("v2") << int(RawClient::V2);
    QTest::addRow("v1") << int(RawClient::V1);
}

void tst_Limits::updatesOverTheRateAreRefused()
{
    QFETCH(int, flavour);
    const auto server = startServer();
    // One token every 100 seconds: nothing refills while the test runs.
    server->setUpdateRate(0.01);
    server->setUpdateBurst(3);
    createState(*server, "s");
    RawClient client{RawClient::Flavour(flavour)};
    RawClient other;
    QVERIFY(client.open(urlOf(*server), "fast"));
    QVERIFY(other.open(urlOf(*server), "other"));
    client.joinAndWait("s");
    other.joinAndWait("s");

    LogCapture::clear();
    for (int i = 1; i <= 20; ++i) {
        if (i % 2)
            client.update(QJsonObject{{"n", i}}, i);
        else
            client.append(QJsonObject{{"list", QJsonArray{i}}}, i);
    }
    QSet<int> refused;
    for (int i = 4; i <= 20; ++i) {
        const QJsonObject error = client.takeData(9);
        QCOMPARE(codeOf(error), QStringLiteral("rate_limited"));
        refused.insert(error.value("requestId").toInt());
    }
    QCOMPARE(refused.size(), 17);
    QVERIFY(!refused.contains(1) && !refused.contains(3));
    // Three were applied (with state threads, once their batch is back), the rest not at all.
    QTRY_COMPARE(server->versionOfState("s"), 3);
    QCOMPARE(*server->valueOfState("s"), QJsonObject({{"n", 3}, {"list", QJsonArray{2}}}));
    QCOMPARE(server->updatesRefused(), 17u);
    QCOMPARE(server->updatesApplied(), 3u);
    // One log line, not seventeen.
    QCOMPARE(LogCapture::linesIn("qstatesync.server").size(), 1);
    // Another client has a bucket of its own.
    other.update(QJsonObject{{"mine", true}}, "other-1");
    QVERIFY(other.waitUntil([&] {
        return std::any_of(other.received.cbegin(), other.received.cend(),
                           [](const QJsonObject &message) {
                               return message.value("type").toInt() == 3
                                       && message.value("data").toObject().value("requestId")
                                       == QLatin1String("other-1");
                           });
    }));
}

void tst_Limits::rateRefillsWithTime()
{
    const auto server = startServer();
    server->setUpdateRate(5);
    server->setUpdateBurst(1);
    createState(*server, "s");
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");

    client.update(QJsonObject{{"n", 0}}, 0);
    QCOMPARE(client.takeData(3).value("requestId").toInt(), 0);
    QElapsedTimer clock;
    clock.start();
    // Retry each time the last try was refused, until one goes through: a token comes
    // back after a fifth of a second, never sooner.
    int tries = 0;
    bool applied = false;
    while (!applied && clock.elapsed() < Timeout) {
        ++tries;
        client.update(QJsonObject{{"n", tries}}, tries);
        QVERIFY(client.waitUntil([&] {
            return std::any_of(client.received.cbegin(), client.received.cend(),
                               [&](const QJsonObject &message) {
                                   return message.value("data").toObject().value("requestId")
                                           == tries;
                               });
        }));
        applied = !client.take(3, 0).isEmpty();
        client.received.clear();
    }
    QVERIFY(applied);
    QVERIFY(tries > 1);
    QVERIFY2(clock.elapsed() >= 150, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(server->versionOfState("s"), 2);
}

void tst_Limits::hiddenStatesGiveTheSameAnswerToTheByte()
{
    const auto server = startServer();
    QVERIFY(!server->revealStateExistence());
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "curious"));

    client.join("x");
    QVERIFY(!client.take(8).isEmpty());
    const QString missing = client.texts.last();
    QCOMPARE(parse(missing).value("data").toObject(),
             QJsonObject({{"code", "state_not_found"},
                          {"message", "State x does not exist or may not be joined"},
                          {"stateIdentifier", "x"}}));

    // Refused by the state's filter.
    QStateSyncStateOptions options;
    options.setIdentifier("x");
    options.setAllowConnectingClient([](const QVariantMap &) { return false; });
    server->createState(options);
    client.join("x");
    QVERIFY(!client.take(8).isEmpty());
    QCOMPARE(client.texts.last(), missing);
    server->removeState("x");

    // Refused by a join hook, now or later, without a message of its own.
    createState(*server, "x");
    QString hookMessage;
    bool deferHook = false;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        if (deferHook) {
            request->defer();
            QTimer::singleShot(0, request,
                               [request, &hookMessage] { request->reject(hookMessage); });
        } else {
            request->reject(hookMessage);
        }
    });
    client.join("x");
    QVERIFY(!client.take(8).isEmpty());
    QCOMPARE(client.texts.last(), missing);
    deferHook = true;
    client.join("x");
    QVERIFY(!client.take(8).isEmpty());
    QCOMPARE(client.texts.last(), missing);

    // A hook's own rejection message is the application's choice: sent as given.
    deferHook = false;
    hookMessage = QStringLiteral("Members only");
    client.join("x");
    const QJsonObject ownMessage = client.takeData(8);
    QCOMPARE(codeOf(ownMessage), QStringLiteral("join_refused"));
    QCOMPARE(ownMessage.value("message").toString(), QStringLiteral("Members only"));
    QCOMPARE(server->clientsOfState("x"), QStringList());
}

void tst_Limits::revealedStatesGiveDistinctAnswers()
{
    const auto server = startServer();
    server->setRevealStateExistence(true);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "curious"));
    client.join("x");
    QCOMPARE(client.takeData(8),
             QJsonObject({{"code", "state_not_found"},
                          {"message", "State x does not exist"},
                          {"stateIdentifier", "x"}}));

    QStateSyncStateOptions options;
    options.setIdentifier("x");
    options.setAllowConnectingClient([](const QVariantMap &) { return false; });
    server->createState(options);
    client.join("x");
    QCOMPARE(client.takeData(8),
             QJsonObject({{"code", "join_refused"},
                          {"message", "Client is not allowed to connect to state"},
                          {"stateIdentifier", "x"}}));

    createState(*server, "y");
    connect(server.get(), &QStateSyncer::joinRequested, this,
            [](QStateSyncJoinRequest *request) { request->reject(); });
    client.join("y");
    QCOMPARE(codeOf(client.takeData(8)), QStringLiteral("join_refused"));
}

QTEST_GUILESS_MAIN(tst_Limits)
#include "tst_limits.moc"
