// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// A cluster of qstatesyncd processes sharing their states through a redis-server of the
// test's own: 30 clients spread over three nodes append to one state at random. In the
// middle of it a node is killed with SIGKILL (its clients move to the other nodes, their
// endpoint lists, and resync), or Redis is killed and started again. Everything
// acknowledged is there exactly once, versions have no gaps, and every node and client
// ends with the same value and version.

#include "daemonsupport.h"
#include "redisserver.h"
#include "testsupport.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qrandom.h>

using namespace TestSupport;

// Three nodes, 30 clients each starting on its own node and knowing the others; each
// client appends 1, 2, 3, ... to a key of its own.
class ClusterLoad : public QObject
{
public:
    static constexpr int Nodes = 3;
    static constexpr int Clients = 30;

    bool start()
    {
        if (!redis.start())
            return false;
        const QString redisAddress = QStringLiteral("127.0.0.1:%1").arg(redis.port());
        for (int n = 0; n < Nodes; ++n) {
            nodes.push_back(std::make_unique<DaemonSupport::Daemon>(
                    QStringList{"--host", "127.0.0.1", "--port", QString::number(freePort()),
                                "--state", "doc", "--storage", "redis", "--redis", redisAddress,
                                "--node-id", QStringLiteral("node%1").arg(n)}));
            if (!nodes.back()->start())
                return false;
            urls.append(nodes.back()->url);
        }
        for (int c = 0; c < Clients; ++c) {
            QList<QUrl> endpoints;
            for (int n = 0; n < Nodes; ++n)
                endpoints.append(urls.at((c + n) % Nodes));
            auto client = std::make_unique<QStateSyncClient>(endpoints.first(),
                                                             QStringLiteral("c%1").arg(c));
            client->setUrls(endpoints);
            client->setReconnectDelay(50);
            QSignalSpy joined(client.get(), &QStateSyncClient::joined);
            client->connectToState("doc");
            if (!joined.wait(Timeout))
                return false;
            connect(client.get(), &QStateSyncClient::updateAcknowledged, this,
                    [this, c](qint64 requestId) {
                        acknowledged[c].insert(pending[c].take(requestId));
                        ++settled;
                    });
            connect(client.get(), &QStateSyncClient::updateFailed, this,
                    [this, c](qint64 requestId) {
                        pending[c].remove(requestId);
                        ++settled;
                    });
            clients.push_back(std::move(client));
        }
        return true;
    }
    // Random clients append their next number.
    void sendSome(int count)
    {
        for (int i = 0; i < count; ++i) {
            const int c = QRandomGenerator::global()->bounded(Clients);
            const qint64 id
                    = clients[c]->append(QStringLiteral("c%1").arg(c), QJsonArray{++sent[c]});
            pending[c].insert(id, sent[c]);
            ++sentTotal;
        }
    }
    // One value and version everywhere, every acknowledged item in it exactly once, one
    // version per item; nodes listed in readFrom serve the same to a new client.
    void verify(const QList<int> &readFrom)
    {
        // Every change has settled, so the state no longer moves; the clients may still be
        // reading the last broadcasts, each at its own pace.
        QTRY_VERIFY2_WITH_TIMEOUT(clientsAgree(), qPrintable(versions()), 2 * Timeout);
        const qint64 version = clients[0]->version();
        const QJsonObject value = clients[0]->jsonValue();
        int items = 0;
        acknowledgedItems = 0;
        for (int c = 0; c < Clients; ++c) {
            QSet<int> seen;
            for (const QJsonValue &item : value.value(QStringLiteral("c%1").arg(c)).toArray()) {
                QVERIFY2(!seen.contains(item.toInt()), "an item was applied twice");
                seen.insert(item.toInt());
            }
            for (int item : std::as_const(acknowledged[c])) {
                QVERIFY2(seen.contains(item),
                         qPrintable(QStringLiteral("c%1 lost %2").arg(c).arg(item)));
            }
            items += seen.size();
            acknowledgedItems += acknowledged[c].size();
        }
        QCOMPARE(version, items);
        for (int n : readFrom) {
            QStateSyncClient reader(urls.at(n), QStringLiteral("reader%1").arg(n));
            QSignalSpy joined(&reader, &QStateSyncClient::joined);
            reader.connectToState("doc");
            QVERIFY(joined.wait(Timeout));
            QCOMPARE(reader.version(), version);
            QCOMPARE(reader.jsonValue(), value);
        }
    }

    bool clientsAgree() const
    {
        for (const auto &client : clients) {
            if (client->status() != QStateSyncClient::Joined
                || client->version() != clients[0]->version()
                || client->jsonValue() != clients[0]->jsonValue()) {
                return false;
            }
        }
        return true;
    }
    QString versions() const
    {
        QStringList list;
        for (const auto &client : clients)
            list.append(QString::number(client->version()));
        return QStringLiteral("the clients do not agree; their versions: ") + list.join(u' ');
    }

    RedisServer redis;
    std::vector<std::unique_ptr<DaemonSupport::Daemon>> nodes;
    QList<QUrl> urls;
    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    QList<QSet<int>> acknowledged = QList<QSet<int>>(Clients);
    QList<QHash<qint64, int>> pending = QList<QHash<qint64, int>>(Clients);
    QList<int> sent = QList<int>(Clients, 0);
    int sentTotal = 0;
    int settled = 0;
    int acknowledgedItems = 0;
};

class tst_ClusterDaemons : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void killedNodeLosesNothingAcknowledged();
    void redisRestartLosesNothingAcknowledged();
};

void tst_ClusterDaemons::killedNodeLosesNothingAcknowledged()
{
    ClusterLoad load;
    QVERIFY(load.start());
    load.sendSome(300);
    QTRY_VERIFY_WITH_TIMEOUT(load.settled >= 150, Timeout);
    load.nodes[0]->process.kill(); // SIGKILL, with changes on their way
    QVERIFY(load.nodes[0]->waitForExit());
    load.sendSome(300);
    QTRY_COMPARE_WITH_TIMEOUT(load.settled, load.sentTotal, 4 * Timeout);
    // The clients of the dead node are on the others now.
    for (const auto &client : load.clients) {
        QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Joined, Timeout);
        QVERIFY(client->currentUrl() != load.urls.at(0));
    }
    load.sendSome(300);
    QTRY_COMPARE_WITH_TIMEOUT(load.settled, load.sentTotal, 4 * Timeout);
    load.verify({1, 2});
    if (QTest::currentTestFailed())
        return;
    // Only what was on its way to the killed node may have failed (connection_lost).
    QVERIFY2(load.acknowledgedItems >= 700, qPrintable(QString::number(load.acknowledgedItems)));
    qInfo("%d of %d changes acknowledged", load.acknowledgedItems, load.sentTotal);
    load.clients.clear();
    for (int n = 1; n < ClusterLoad::Nodes; ++n)
        QVERIFY(load.nodes[n]->terminate());
}

void tst_ClusterDaemons::redisRestartLosesNothingAcknowledged()
{
    ClusterLoad load;
    QVERIFY(load.start());
    load.sendSome(300);
    QTRY_VERIFY_WITH_TIMEOUT(load.settled >= 150, Timeout);
    load.redis.kill(); // SIGKILL; every write it answered is in its append-only file
    load.sendSome(300); // they wait in the nodes, or fail with the connection
    QVERIFY(load.nodes[0]->waitForLog("Lost the connection to Redis"));
    QVERIFY(load.redis.start());
    for (const auto &node : load.nodes)
        QVERIFY(node->waitForLog("is connected to Redis again"));
    load.sendSome(300);
    QTRY_COMPARE_WITH_TIMEOUT(load.settled, load.sentTotal, 4 * Timeout);
    load.verify({0, 1, 2});
    if (QTest::currentTestFailed())
        return;
    // Nothing waited in the nodes was refused: Redis was away, not the nodes.
    QCOMPARE(load.acknowledgedItems, load.sentTotal);
    load.clients.clear();
    for (const auto &node : load.nodes)
        QVERIFY(node->terminate());
}

QTEST_MAIN(tst_ClusterDaemons)
#include "tst_clusterdaemons.moc"
