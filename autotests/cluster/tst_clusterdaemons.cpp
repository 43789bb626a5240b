// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// A cluster of qstatesyncd processes sharing their states through a redis-server of the
// test's own: 30 clients spread over three nodes append to one state; one node is killed
// with SIGKILL in the middle of it, its clients move to the other nodes (their endpoint
// lists) and resync. Everything acknowledged is there once, and every node and client ends
// with the same value and version.

#include "daemonsupport.h"
#include "redisserver.h"
#include "testsupport.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qrandom.h>

using namespace TestSupport;

namespace {
quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        qFatal("no free port");
    return probe.serverPort();
}
} // namespace

class tst_ClusterDaemons : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void killedNodeLosesNothingAcknowledged();
};

void tst_ClusterDaemons::killedNodeLosesNothingAcknowledged()
{
    RedisServer redis;
    QVERIFY(redis.start());
    const QString redisAddress = QStringLiteral("127.0.0.1:%1").arg(redis.port());
    std::vector<std::unique_ptr<DaemonSupport::Daemon>> nodes;
    QList<QUrl> urls;
    for (int n = 0; n < 3; ++n) {
        nodes.push_back(std::make_unique<DaemonSupport::Daemon>(
                QStringList{"--host", "127.0.0.1", "--port", QString::number(freePort()), "--state",
                            "doc", "--storage", "redis", "--redis", redisAddress, "--node-id",
                            QStringLiteral("node%1").arg(n)}));
        QVERIFY(nodes.back()->start());
        urls.append(nodes.back()->url);
    }

    constexpr int Clients = 30;
    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    QList<QSet<int>> acknowledged(Clients);
    QList<QHash<qint64, int>> pending(Clients);
    QList<int> sent(Clients, 0);
    int settled = 0;
    for (int c = 0; c < Clients; ++c) {
        // Each client starts on its own node and knows the others.
        QList<QUrl> endpoints;
        for (int n = 0; n < 3; ++n)
            endpoints.append(urls.at((c + n) % 3));
        auto client = std::make_unique<QStateSyncClient>(endpoints.first(),
                                                         QStringLiteral("c%1").arg(c));
        client->setUrls(endpoints);
        client->setReconnectDelay(50);
        QSignalSpy joined(client.get(), &QStateSyncClient::joined);
        client->connectToState("doc");
        QVERIFY(joined.wait(Timeout));
        connect(client.get(), &QStateSyncClient::updateAcknowledged, this,
                [&, c](qint64 requestId) {
                    acknowledged[c].insert(pending[c].take(requestId));
                    ++settled;
                });
        connect(client.get(), &QStateSyncClient::updateFailed, this, [&, c](qint64 requestId) {
            pending[c].remove(requestId);
            ++settled;
        });
        clients.push_back(std::move(client));
    }
    // Random clients append their next number to their own key.
    auto sendSome = [&](int count) {
        for (int i = 0; i < count; ++i) {
            const int c = QRandomGenerator::global()->bounded(Clients);
            const qint64 id
                    = clients[c]->append(QStringLiteral("c%1").arg(c), QJsonArray{++sent[c]});
            pending[c].insert(id, sent[c]);
        }
    };
    sendSome(300);
    QTRY_VERIFY_WITH_TIMEOUT(settled >= 150, Timeout);
    nodes[0]->process.kill(); // SIGKILL, with changes on their way
    QVERIFY(nodes[0]->waitForExit());
    sendSome(300);
    QTRY_COMPARE_WITH_TIMEOUT(settled, 600, 4 * Timeout);
    // The clients of the dead node are on the others now.
    for (const auto &client : clients) {
        QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Status::Joined, Timeout);
        QVERIFY(client->currentUrl() != urls.at(0));
    }
    sendSome(300);
    QTRY_COMPARE_WITH_TIMEOUT(settled, 900, 4 * Timeout);

    // One value, one version everywhere; every acknowledged item in it exactly once.
    const qint64 version = clients[0]->version();
    const QJsonObject value = clients[0]->jsonValue();
    for (const auto &client : clients) {
        QTRY_COMPARE_WITH_TIMEOUT(client->version(), version, Timeout);
        QCOMPARE(client->jsonValue(), value);
    }
    int items = 0;
    int acknowledgedItems = 0;
    for (int c = 0; c < Clients; ++c) {
        QSet<int> seen;
        for (const QJsonValue &item : value.value(QStringLiteral("c%1").arg(c)).toArray()) {
            QVERIFY2(!seen.contains(item.toInt()), "an item was applied twice");
            seen.insert(item.toInt());
        }
        for (int item : std::as_const(acknowledged[c]))
            QVERIFY2(seen.contains(item),
                     qPrintable(QStringLiteral("c%1 lost %2").arg(c).arg(item)));
        items += seen.size();
        acknowledgedItems += acknowledged[c].size();
    }
    // Versions are gapless: one per item applied.
    QCOMPARE(version, items);
    // Only what was in flight to the killed node may fail (connection_lost).
    QVERIFY2(acknowledgedItems >= 700, qPrintable(QString::number(acknowledgedItems)));
    for (int n = 1; n < 3; ++n) {
        QStateSyncClient reader(urls.at(n), QStringLiteral("reader%1").arg(n));
        QSignalSpy joined(&reader, &QStateSyncClient::joined);
        reader.connectToState("doc");
        QVERIFY(joined.wait(Timeout));
        QCOMPARE(reader.version(), version);
        QCOMPARE(reader.jsonValue(), value);
    }
    clients.clear();
    for (int n = 1; n < 3; ++n)
        QVERIFY(nodes[n]->terminate());
}

QTEST_MAIN(tst_ClusterDaemons)
#include "tst_clusterdaemons.moc"
