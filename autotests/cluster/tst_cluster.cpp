// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// Several QStateSyncer nodes sharing their states through one Redis server of the test's
// own: convergence in one order, gapless versions, states created and removed cluster-wide,
// ttl and selfDestruct decided once, and a Redis restart in the middle of a load.

#include "logcapture.h"
#include "redisserver.h"
#include "testsupport.h"

#include <QStateSyncRedisStorage>

#include "qstatesyncredisconnection_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qrandom.h>

using namespace TestSupport;

namespace {

struct Node
{
    Node(quint16 redisPort, const QString &prefix, const QString &name)
    {
        storage = std::make_unique<QStateSyncRedisStorage>();
        storage->setPort(redisPort);
        storage->setKeyPrefix(prefix);
        storage->setNodeIdentifier(name);
        server = std::make_unique<QStateSyncer>();
        attached = server->setStorage(storage.get());
        connect();
        if (!server->listen(QHostAddress::LocalHost, 0))
            qFatal("cannot listen");
    }
    void connect()
    {
        QObject::connect(server.get(), &QStateSyncer::stateUpdated, server.get(),
                         [this](const QString &state, const QJsonObject &, qint64 version) {
                             // Gapless: every node hears every version of a state it follows
                             // once, in order.
                             qint64 &last = lastVersion[state];
                             if (version != last + 1)
                                 ++gaps;
                             last = version;
                         });
    }
    ~Node()
    {
        server.reset();
        storage.reset();
    }
    std::unique_ptr<QStateSyncRedisStorage> storage;
    std::unique_ptr<QStateSyncer> server;
    QHash<QString, qint64> lastVersion;
    int gaps = 0;
    bool attached = false;
};

} // namespace

class tst_Cluster : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void twoNodesConvergeInOneOrder();
    void aStateCreatedOnOneNodeIsJoinedOnAnother();
    void hooksRunOnTheNodeThatReceivedTheChange();
    void removalReachesEveryNode();
    void removalWithoutRedisKeepsTheState();
    void aNodeThatMissesAChangeReadsTheStateAgain();
    void changesWaitingForRedisAreBounded();
    void detachingTheStorageLetsWaitingJoinsIn();
    void ttlRemovesTheStateOnce();
    void selfDestructCountsTheClientsOfEveryNode();
    void aRedisRestartLosesNothingAcknowledged();
    void unreachableRedisIsRefused();

private:
    std::unique_ptr<Node> node(const QString &name)
    {
        return std::make_unique<Node>(m_redis.port(), m_prefix, name);
    }
    RedisServer m_redis;
    QString m_prefix;
    int m_test = 0;
};

void tst_Cluster::initTestCase()
{
    QVERIFY(m_redis.start());
}

void tst_Cluster::init()
{
    // Each test has a cluster of its own on the one Redis server.
    m_prefix = QStringLiteral("test%1:").arg(++m_test);
}

void tst_Cluster::twoNodesConvergeInOneOrder()
{
    auto a = node("a");
    auto b = node("b");
    QVERIFY(a->attached);
    QVERIFY(b->attached);
    QVERIFY(!createState(*a->server, "doc", QJsonObject{{"log", QJsonArray()}}).isEmpty());
    // The second node takes the state the first created.
    QVERIFY(!createState(*b->server, "doc", QJsonObject{{"other", 1}}).isEmpty());
    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    for (int c = 0; c < 6; ++c)
        clients.push_back(
                joinedClient(c % 2 ? *b->server : *a->server, QStringLiteral("c%1").arg(c), "doc"));
    for (const auto &client : clients) {
        QCOMPARE(client->jsonValue(), QJsonObject({{"log", QJsonArray()}}));
        QCOMPARE(client->version(), 0);
    }
    int acknowledged = 0;
    int failed = 0;
    for (const auto &client : clients) {
        connect(client.get(), &QStateSyncClient::updateAcknowledged, this, [&] { ++acknowledged; });
        connect(client.get(), &QStateSyncClient::updateFailed, this, [&] { ++failed; });
    }
    const int rounds = 30;
    for (int round = 0; round < rounds; ++round) {
        for (int c = 0; c < 6; ++c) {
            const QString key = QStringLiteral("c%1").arg(c);
            if (round % 3 == 2)
                clients[c]->append("log", QJsonArray{key + QString::number(round)});
            else
                clients[c]->updateState(QJsonObject{{key, QJsonObject{{"round", round}}}});
        }
    }
    const int total = rounds * 6;
    QTRY_COMPARE_WITH_TIMEOUT(acknowledged + failed, total, Timeout);
    QCOMPARE(failed, 0);
    for (const auto &client : clients)
        QTRY_COMPARE_WITH_TIMEOUT(client->version(), total, Timeout);
    const QJsonObject value = clients[0]->jsonValue();
    QCOMPARE(value.value("log").toArray().size(), rounds / 3 * 6);
    for (int c = 0; c < 6; ++c) {
        // The last round that updated rather than appended.
        QCOMPARE(value.value(QStringLiteral("c%1").arg(c)).toObject().value("round").toInt(),
                 (rounds - 1) % 3 == 2 ? rounds - 2 : rounds - 1);
        QCOMPARE(clients[c]->jsonValue(), value);
    }
    QCOMPARE(a->server->versionOfState("doc"), total);
    QCOMPARE(b->server->versionOfState("doc"), total);
    QCOMPARE(*a->server->valueOfState("doc"), value);
    QCOMPARE(*b->server->valueOfState("doc"), value);
    QCOMPARE(a->gaps, 0);
    QCOMPARE(b->gaps, 0);
    QCOMPARE(a->lastVersion.value("doc"), total);
    QCOMPARE(b->lastVersion.value("doc"), total);

    // A third node, started now, reads what the cluster has; its application creates the
    // state as the others did, and takes over the cluster's value and version.
    auto c = node("c");
    QVERIFY(c->attached);
    QVERIFY(c->server->hasState("doc"));
    QCOMPARE(createState(*c->server, "doc"), QString("doc"));
    auto late = joinedClient(*c->server, "late", "doc");
    QCOMPARE(late->version(), total);
    QCOMPARE(late->jsonValue(), value);
}

void tst_Cluster::aStateCreatedOnOneNodeIsJoinedOnAnother()
{
    auto a = node("a");
    auto b = node("b");
    QSignalSpy createdOnB(b->server.get(), &QStateSyncer::stateCreated);
    QVERIFY(!createState(*a->server, "room", QJsonObject{{"topic", "hello"}}).isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(createdOnB.size(), 1, Timeout);
    QCOMPARE(createdOnB.at(0).at(0).toString(), QStringLiteral("room"));
    // Node b knows of it, but its application has not given it its rules and hooks: it
    // stays closed, as if it did not exist.
    QStateSyncClient early(urlOf(*b->server), "early");
    QSignalSpy refused(&early, &QStateSyncClient::errorOccurred);
    early.connectToState("room");
    QVERIFY(refused.wait(Timeout));
    QCOMPARE(refused.at(0).at(0).value<QStateSync::Error>(), QStateSync::Error::StateNotFound);
    // Node b's application creates the states the cluster has, with its own options: it
    // takes the cluster's value and version over.
    QCOMPARE(createState(*b->server, "room", QJsonObject{{"topic", "other"}}), QString("room"));
    QCOMPARE(*b->server->valueOfState("room"), QJsonObject({{"topic", "hello"}}));
    QCOMPARE(createState(*b->server, "room"), QString());
    auto client = joinedClient(*b->server, "guest", "room");
    QCOMPARE(client->jsonValue(), QJsonObject({{"topic", "hello"}}));
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QJsonObject{{"topic", "bye"}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(acknowledged.at(0).at(1).toLongLong(), 1);
    // Node a has no client on the state: it reads the value when it needs it.
    auto host = joinedClient(*a->server, "host", "room");
    QCOMPARE(host->jsonValue(), QJsonObject({{"topic", "bye"}}));
    QCOMPARE(host->version(), 1);
    QCOMPARE(b->server->versionOfState("room"), 1);
}

void tst_Cluster::hooksRunOnTheNodeThatReceivedTheChange()
{
    auto a = node("a");
    auto b = node("b");
    // Node a's application stamps every update; node b's has no interceptor.
    QStateSyncStateOptions stamped;
    stamped.setIdentifier("doc");
    int interceptedOnA = 0;
    stamped.setInterceptStateUpdate([&](const QJsonObject &updates, const QVariantMap &) {
        ++interceptedOnA;
        QJsonObject result = updates;
        result.insert("via", "a");
        return std::optional<QJsonObject>(result);
    });
    QVERIFY(!a->server->createState(stamped).isEmpty());
    QVERIFY(!createState(*b->server, "doc").isEmpty());
    auto onA = joinedClient(*a->server, "ca", "doc");
    auto onB = joinedClient(*b->server, "cb", "doc");
    QSignalSpy acknowledgedB(onB.get(), &QStateSyncClient::updateAcknowledged);
    onB->updateState(QJsonObject{{"from", "b"}});
    QVERIFY(acknowledgedB.wait(Timeout));
    QCOMPARE(interceptedOnA, 0);
    QTRY_COMPARE_WITH_TIMEOUT(onA->version(), 1, Timeout);
    QCOMPARE(onA->jsonValue(), QJsonObject({{"from", "b"}}));
    QSignalSpy acknowledgedA(onA.get(), &QStateSyncClient::updateAcknowledged);
    onA->updateState(QJsonObject{{"from", "a"}});
    QVERIFY(acknowledgedA.wait(Timeout));
    QCOMPARE(interceptedOnA, 1);
    QTRY_COMPARE_WITH_TIMEOUT(onB->version(), 2, Timeout);
    // The rewrite made on node a reached node b's client as it was applied.
    QCOMPARE(onB->jsonValue(), QJsonObject({{"from", "a"}, {"via", "a"}}));
    QCOMPARE(*b->server->valueOfState("doc"), onB->jsonValue());
}

void tst_Cluster::removalReachesEveryNode()
{
    auto a = node("a");
    auto b = node("b");
    QVERIFY(!createState(*a->server, "doc").isEmpty());
    QVERIFY(!createState(*b->server, "doc").isEmpty());
    auto onB = joinedClient(*b->server, "b1", "doc");
    QSignalSpy removedOnB(b->server.get(), &QStateSyncer::stateRemoved);
    QSignalSpy clientRemoved(onB.get(), &QStateSyncClient::stateRemoved);
    QVERIFY(a->server->removeState("doc"));
    QVERIFY(clientRemoved.wait(Timeout));
    QCOMPARE(removedOnB.size(), 1);
    QVERIFY(!b->server->hasState("doc"));
    // Gone from Redis too: a new node does not see it.
    auto c = node("c");
    QVERIFY(!c->server->hasState("doc"));
}

void tst_Cluster::removalWithoutRedisKeepsTheState()
{
    auto a = node("a");
    auto b = node("b");
    QVERIFY(!createState(*a->server, "doc").isEmpty());
    QVERIFY(!createState(*b->server, "doc").isEmpty());
    m_redis.kill();
    QTRY_VERIFY_WITH_TIMEOUT(!a->storage->isConnected(), Timeout);
    // Removed on node a alone, it would live on in Redis and on node b, and come back.
    QVERIFY(!a->server->removeState("doc"));
    QVERIFY(a->server->hasState("doc"));
    QVERIFY(m_redis.start());
    QTRY_VERIFY_WITH_TIMEOUT(a->storage->isConnected() && b->storage->isConnected(), Timeout);
    // Redis is back: the blocking connection, which died with it, is made again.
    QSignalSpy removedOnB(b->server.get(), &QStateSyncer::stateRemoved);
    QVERIFY(a->server->removeState("doc"));
    QVERIFY(removedOnB.wait(Timeout));
    QVERIFY(!b->server->hasState("doc"));
}

void tst_Cluster::aNodeThatMissesAChangeReadsTheStateAgain()
{
    auto a = node("a");
    auto b = node("b");
    QVERIFY(!createState(*a->server, "doc").isEmpty());
    QVERIFY(!createState(*b->server, "doc").isEmpty());
    auto onA = joinedClient(*a->server, "ca", "doc");
    auto onB = joinedClient(*b->server, "cb", "doc");
    QSignalSpy acknowledged(onB.get(), &QStateSyncClient::updateAcknowledged);
    onB->updateState(QJsonObject{{"n", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE_WITH_TIMEOUT(onA->version(), 1, Timeout);
    // Version 2 changes in Redis and is never published: both nodes miss it.
    QStateSyncRedisConnection redis;
    QSignalSpy connected(&redis, &QStateSyncRedisConnection::connected);
    redis.connectToServer("127.0.0.1", m_redis.port());
    QVERIFY(connected.wait(Timeout));
    int answers = 0;
    const auto counted = [&](const QStateSyncRedisReply &reply) {
        QVERIFY(!reply.isError());
        ++answers;
    };
    QVERIFY(redis.command({"HSET", (m_prefix + "value:doc").toUtf8(), "missed", "\"yes\""},
                          counted));
    QVERIFY(redis.command({"HSET", (m_prefix + "state:doc").toUtf8(), "version", "2"}, counted));
    QTRY_COMPARE_WITH_TIMEOUT(answers, 2, Timeout);
    // Node b's next change is merged on version 1, refused by Redis (it is at 2), and
    // merged again once b has read the state; node a hears version 3 after 1, sees the
    // gap, and reads the state again.
    onB->updateState(QJsonObject{{"n", 3}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(acknowledged.last().at(1).toLongLong(), 3);
    const QJsonObject expected{{"n", 3}, {"missed", "yes"}};
    QTRY_COMPARE_WITH_TIMEOUT(onA->jsonValue(), expected, Timeout);
    QCOMPARE(onA->version(), 3);
    QCOMPARE(onB->jsonValue(), expected);
    QCOMPARE(*a->server->valueOfState("doc"), expected);
    QCOMPARE(a->server->versionOfState("doc"), 3);
}

void tst_Cluster::changesWaitingForRedisAreBounded()
{
    auto a = node("a");
    QVERIFY(!createState(*a->server, "doc").isEmpty());
    auto client = joinedClient(*a->server, "c", "doc");
    m_redis.kill();
    QTRY_VERIFY_WITH_TIMEOUT(!a->storage->isConnected(), Timeout);
    // Server-side changes wait for Redis like the clients' do, up to the bound.
    constexpr int Bound = 10000;
    int taken = 0;
    for (int i = 0; i < Bound + 5; ++i) {
        if (a->server->updateStateValue("doc", QJsonObject{{"i", i}}))
            ++taken;
    }
    QCOMPARE(taken, Bound);
    // A client's change past it is refused with storage_failed, at once.
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    client->updateState(QJsonObject{{"from", "client"}});
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(1).value<QStateSync::Error>(), QStateSync::Error::StorageFailed);
    // Redis comes back: what waited is applied, in order.
    QVERIFY(m_redis.start());
    QTRY_COMPARE_WITH_TIMEOUT(a->server->versionOfState("doc"), Bound, 3 * Timeout);
    QCOMPARE(a->server->valueOfState("doc")->value("i").toInt(), Bound - 1);
    QTRY_COMPARE_WITH_TIMEOUT(client->version(), Bound, Timeout);
}

void tst_Cluster::detachingTheStorageLetsWaitingJoinsIn()
{
    auto a = node("a");
    QVERIFY(!createState(*a->server, "doc", QJsonObject{{"kept", true}}).isEmpty());
    m_redis.kill();
    QTRY_VERIFY_WITH_TIMEOUT(!a->storage->isConnected(), Timeout);
    // No client joined the state yet: the node must read it first, and cannot.
    LogCapture log;
    QLoggingCategory::setFilterRules(QStringLiteral("qstatesync.storage.debug=true"));
    QStateSyncClient client(urlOf(*a->server), "waiting");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("doc");
    QTRY_VERIFY_WITH_TIMEOUT(
            !LogCapture::linesIn("qstatesync.storage").filter("waits until state doc").isEmpty(),
            Timeout);
    QLoggingCategory::setFilterRules(QString());
    QCOMPARE(joined.size(), 0); // waiting: Redis is away
    // The application gives up on the cluster: the state goes on in memory, and the join
    // that waited is let in.
    QVERIFY(a->server->setStorage(nullptr));
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client.jsonValue(), QJsonObject({{"kept", true}}));
    QSignalSpy acknowledged(&client, &QStateSyncClient::updateAcknowledged);
    client.updateState(QJsonObject{{"n", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(a->server->versionOfState("doc"), 1);
    QVERIFY(m_redis.start());
}

void tst_Cluster::ttlRemovesTheStateOnce()
{
    auto a = node("a");
    auto b = node("b");
    QStateSyncStateOptions options;
    options.setIdentifier("short");
    options.setTtl(std::chrono::milliseconds(300));
    QVERIFY(!a->server->createState(options).isEmpty());
    QVERIFY(!b->server->createState(options).isEmpty());
    // What the cluster publishes: exactly one removal, whichever node decided.
    QStateSyncRedisConnection listener;
    QSignalSpy listening(&listener, &QStateSyncRedisConnection::connected);
    listener.connectToServer("127.0.0.1", m_redis.port());
    QVERIFY(listening.wait(Timeout));
    QStringList events;
    listener.setMessageHandler([&](const QByteArray &, const QByteArray &message) {
        events.append(QString::fromUtf8(message));
    });
    QSignalSpy subscribed(&listener, &QStateSyncRedisConnection::subscribed);
    QVERIFY(listener.subscribe({(m_prefix + "events").toUtf8()}));
    QVERIFY(subscribed.wait(Timeout));
    auto onA = joinedClient(*a->server, "a1", "short");
    auto onB = joinedClient(*b->server, "b1", "short");
    QSignalSpy removedA(onA.get(), &QStateSyncClient::stateRemoved);
    QSignalSpy removedB(onB.get(), &QStateSyncClient::stateRemoved);
    QSignalSpy serverA(a->server.get(), &QStateSyncer::stateRemoved);
    QSignalSpy serverB(b->server.get(), &QStateSyncer::stateRemoved);
    QTRY_COMPARE_WITH_TIMEOUT(removedA.size(), 1, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(removedB.size(), 1, Timeout);
    QCOMPARE(removedA.at(0).at(1).value<QStateSync::RemovalReason>(),
             QStateSync::RemovalReason::Ttl);
    QCOMPARE(removedB.at(0).at(1).value<QStateSync::RemovalReason>(),
             QStateSync::RemovalReason::Ttl);
    QCOMPARE(serverA.size(), 1);
    QCOMPARE(serverB.size(), 1);
    // Both nodes' deadlines were the one the first node set.
    QVERIFY(!a->server->hasState("short"));
    QVERIFY(!b->server->hasState("short"));
    QTRY_COMPARE_WITH_TIMEOUT(events.size(), 1, Timeout);
    QVERIFY2(events.at(0).contains("\"removed\""), qPrintable(events.at(0)));
    // Nothing more comes: a second removal would have been published by now, as the
    // listener hears the nodes' messages in the order Redis sends them.
    QSignalSpy more(&listener, &QStateSyncRedisConnection::subscribed);
    QVERIFY(listener.subscribe({(m_prefix + "other").toUtf8()}));
    QVERIFY(more.wait(Timeout));
    QCOMPARE(events.size(), 1);
}

void tst_Cluster::selfDestructCountsTheClientsOfEveryNode()
{
    auto a = node("a");
    auto b = node("b");
    QStateSyncStateOptions options;
    options.setIdentifier("call");
    QList<int> asked;
    options.setSelfDestruct([&](int clients, const QDateTime &) {
        asked.append(clients);
        return clients == 0;
    });
    QVERIFY(!a->server->createState(options).isEmpty());
    QVERIFY(!b->server->createState(options).isEmpty());
    auto onA = joinedClient(*a->server, "a1", "call");
    auto onB = joinedClient(*b->server, "b1", "call");
    QSignalSpy leftA(onA.get(), &QStateSyncClient::left);
    onA->leaveState();
    QVERIFY(leftA.wait(Timeout));
    // One client is left, on the other node: the state stays.
    QTRY_COMPARE_WITH_TIMEOUT(asked, QList<int>{1}, Timeout);
    QVERIFY(a->server->hasState("call"));
    QSignalSpy removedOnA(a->server.get(), &QStateSyncer::stateRemoved);
    onB->leaveState();
    QVERIFY(removedOnA.wait(Timeout));
    QCOMPARE(asked, (QList<int>{1, 0}));
    QCOMPARE(removedOnA.at(0).at(1).value<QStateSync::RemovalReason>(),
             QStateSync::RemovalReason::SelfDestruct);
}

void tst_Cluster::aRedisRestartLosesNothingAcknowledged()
{
    auto a = node("a");
    auto b = node("b");
    QVERIFY(!createState(*a->server, "doc").isEmpty());
    QVERIFY(!createState(*b->server, "doc").isEmpty());
    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    for (int c = 0; c < 4; ++c)
        clients.push_back(
                joinedClient(c % 2 ? *b->server : *a->server, QStringLiteral("c%1").arg(c), "doc"));
    // Each client appends 1, 2, 3, ... to an array of its own: every item acknowledged must
    // be there exactly once, and nothing twice.
    QList<QSet<int>> acknowledged(4);
    QList<int> sent(4, 0);
    QHash<qint64, int> pending[4];
    int settled = 0;
    for (int c = 0; c < 4; ++c) {
        QStateSyncClient *client = clients[c].get();
        connect(client, &QStateSyncClient::updateAcknowledged, this, [&, c](qint64 requestId) {
            acknowledged[c].insert(pending[c].take(requestId));
            ++settled;
        });
        connect(client, &QStateSyncClient::updateFailed, this, [&, c](qint64 requestId) {
            pending[c].remove(requestId);
            ++settled;
        });
    }
    auto sendRound = [&] {
        for (int c = 0; c < 4; ++c) {
            const qint64 id
                    = clients[c]->append(QStringLiteral("c%1").arg(c), QJsonArray{++sent[c]});
            pending[c].insert(id, sent[c]);
        }
    };
    for (int round = 0; round < 10; ++round)
        sendRound();
    QTRY_COMPARE_WITH_TIMEOUT(settled, 40, Timeout);
    // Killed with changes on their way: some were applied before, some not.
    for (int round = 0; round < 10; ++round)
        sendRound();
    m_redis.kill();
    for (int round = 0; round < 10; ++round)
        sendRound();
    QTRY_VERIFY_WITH_TIMEOUT(!a->storage->isConnected() && !b->storage->isConnected(), Timeout);
    QVERIFY(m_redis.start());
    QTRY_VERIFY_WITH_TIMEOUT(a->storage->isConnected() && b->storage->isConnected(), Timeout);
    for (int round = 0; round < 10; ++round)
        sendRound();
    QTRY_COMPARE_WITH_TIMEOUT(settled, 160, 3 * Timeout);
    for (const auto &client : clients)
        QTRY_COMPARE_WITH_TIMEOUT(client->jsonValue(), *a->server->valueOfState("doc"), Timeout);
    const QJsonObject value = *a->server->valueOfState("doc");
    QCOMPARE(*b->server->valueOfState("doc"), value);
    QCOMPARE(a->server->versionOfState("doc"), b->server->versionOfState("doc"));
    int items = 0;
    for (int c = 0; c < 4; ++c) {
        QSet<int> seen;
        for (const QJsonValue &item : value.value(QStringLiteral("c%1").arg(c)).toArray()) {
            QVERIFY2(!seen.contains(item.toInt()), "an item was applied twice");
            seen.insert(item.toInt());
        }
        for (int item : std::as_const(acknowledged[c]))
            QVERIFY2(seen.contains(item),
                     qPrintable(QStringLiteral("c%1 lost %2").arg(c).arg(item)));
        QVERIFY(acknowledged[c].size() >= 30);
        items += seen.size();
    }
    QCOMPARE(a->server->versionOfState("doc"), items);
    // And in Redis: a node started now reads the same.
    auto c = node("c");
    QCOMPARE(createState(*c->server, "doc"), QString("doc"));
    auto reader = joinedClient(*c->server, "reader", "doc");
    QCOMPARE(reader->jsonValue(), value);
}

void tst_Cluster::unreachableRedisIsRefused()
{
    QTcpServer probe;
    QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
    const quint16 port = probe.serverPort();
    probe.close(); // nothing listens there now
    QStateSyncRedisStorage storage;
    storage.setPort(port);
    QSignalSpy errors(&storage, &QStateSyncStorage::errorOccurred);
    QStateSyncer server;
    QVERIFY(!server.setStorage(&storage));
    QCOMPARE(errors.size(), 1);
    QVERIFY2(storage.errorString().contains(QString::number(port)),
             qPrintable(storage.errorString()));
    QCOMPARE(server.storage(), nullptr);
}

QTEST_MAIN(tst_Cluster)
#include "tst_cluster.moc"
