// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// A convergence property test over real sockets: many clients make random concurrent
// changes (merges, deletions, nested objects, appends) while their connections are cut
// at random (and, in some rows, while the server conflates what it sends to clients that
// lag behind a tiny output limit); once everything settled, every copy equals the server's value, every update
// ended in exactly one answer, and no acknowledged append is missing or doubled.

#include "faultproxy.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qcoreapplication.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qrandom.h>
#include <QtTest/qtest.h>

using namespace TestSupport;
using QStateSync::Error;

class tst_Convergence : public QObject
{
    Q_OBJECT

    static inline QtMessageHandler s_previousHandler = nullptr;
    static inline int s_conflations = 0;

private Q_SLOTS:
    void initTestCase()
    {
        // The server says when it starts conflating for a connection: count those lines
        // (the rows with a tiny output limit must have some) and keep the rest of its
        // info lines (cuts, drops, hundreds here) out of the output.
        QLoggingCategory::setFilterRules(
                QStringLiteral("qstatesync.*.info=false\nqstatesync.server.info=true"));
        s_previousHandler = qInstallMessageHandler(
                [](QtMsgType type, const QMessageLogContext &context, const QString &message) {
                    if (type == QtInfoMsg && context.category
                        && qstrcmp(context.category, "qstatesync.server") == 0) {
                        if (message.contains(QLatin1String("conflating its updates")))
                            ++s_conflations;
                        return;
                    }
                    s_previousHandler(type, context, message);
                });
    }
    void cleanupTestCase() { qInstallMessageHandler(s_previousHandler); }
    void randomChangesWithCutsConverge_data();
    void randomChangesWithCutsConverge();
};

void tst_Convergence::randomChangesWithCutsConverge_data()
{
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<bool>("shallow");
    // A tiny output limit makes the server conflate what it sends to clients that lag.
    QTest::addColumn<qint64>("maxPendingOutput");
    QTest::addRow("seed 11, deep") << 11u << false << qint64(0);
    QTest::addRow("seed 23, deep") << 23u << false << qint64(0);
    QTest::addRow("seed 37, shallow") << 37u << true << qint64(0);
    QTest::addRow("seed 41, shallow") << 41u << true << qint64(0);
    QTest::addRow("seed 53, deep, conflated") << 53u << false << qint64(1500);
    QTest::addRow("seed 59, shallow, conflated") << 59u << true << qint64(1500);
}

void tst_Convergence::randomChangesWithCutsConverge()
{
    QFETCH(quint32, seed);
    QFETCH(bool, shallow);
    QFETCH(qint64, maxPendingOutput);
    QRandomGenerator random(seed);
    constexpr int Clients = 5;
    constexpr int Steps = 1500;

    s_conflations = 0;
    auto server = startServer();
    server->setUpdateRate(0); // the clients here send as fast as they can
    if (maxPendingOutput > 0)
        server->setMaxPendingOutput(maxPendingOutput);
    createState(*server, "s", QJsonObject{{"log", QJsonArray{}}},
                shallow ? QStateSync::MergeMode::Shallow : QStateSync::MergeMode::Deep);
    FaultProxy proxy(server->serverPort());

    struct Tracked
    {
        int acknowledged = 0;
        int failed = 0;
        Error error = Error::NoError;
        QString appended; // the unique item of an append
    };
    QList<QHash<qint64, Tracked>> tracked(Clients);
    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    for (int i = 0; i < Clients; ++i) {
        auto client = std::make_unique<QStateSyncClient>(proxy.url(), QStringLiteral("c%1").arg(i));
        client->setReconnectDelay(5);
        client->setMaxReconnectDelay(40);
        connect(client.get(), &QStateSyncClient::updateAcknowledged, this,
                [&tracked, i](qint64 id, qint64) { ++tracked[i][id].acknowledged; });
        connect(client.get(), &QStateSyncClient::updateFailed, this,
                [&tracked, i](qint64 id, Error error, const QString &) {
                    ++tracked[i][id].failed;
                    tracked[i][id].error = error;
                });
        client->connectToState("s");
        clients.push_back(std::move(client));
    }
    for (const auto &client : clients)
        QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Joined, Timeout);

    const QStringList keys{"a", "b", "c", "d"};
    const auto randomValue = [&]() -> QJsonValue {
        switch (random.bounded(5)) {
        case 0:
            return QJsonValue::Null;
        case 1:
            return int(random.bounded(100));
        case 2:
            return QStringLiteral("v%1").arg(random.bounded(10));
        case 3:
            return QJsonArray{int(random.bounded(3)), QStringLiteral("x")};
        default:
            return QJsonObject{{QStringLiteral("k%1").arg(random.bounded(3)),
                                random.bounded(3) == 0 ? QJsonValue(QJsonValue::Null)
                                                       : QJsonValue(int(random.bounded(9)))}};
        }
    };
    int cuts = 0;
    int sent = 0;
    for (int step = 0; step < Steps; ++step) {
        const int index = int(random.bounded(Clients));
        QStateSyncClient &client = *clients.at(index);
        const int action = int(random.bounded(20));
        if (action < 11) {
            QJsonObject updates;
            const int count = 1 + int(random.bounded(3));
            for (int k = 0; k < count; ++k)
                updates.insert(keys.at(random.bounded(keys.size())), randomValue());
            const qint64 id = client.updateState(updates);
            if (id > 0) {
                tracked[index][id];
                ++sent;
            }
        } else if (action < 17) {
            const QString item = QStringLiteral("c%1-%2").arg(index).arg(step);
            const qint64 id = client.append("log", QJsonArray{item});
            if (id > 0) {
                tracked[index][id].appended = item;
                ++sent;
            }
        } else if (action == 17 && proxy.connectionCount() > 0) {
            proxy.cut(int(random.bounded(proxy.connectionCount())));
            ++cuts;
        }
        // Let the network move a little between steps, a random amount.
        const int turns = int(random.bounded(4));
        for (int t = 0; t < turns; ++t)
            QCoreApplication::processEvents();
    }

    // Settle: everyone back, nothing waiting, everyone at the server's version.
    const auto settled = [&] {
        for (const auto &client : clients) {
            if (client->status() != QStateSyncClient::Joined || client->pendingUpdateCount() != 0
                || client->version() != server->versionOfState("s")) {
                return false;
            }
        }
        return true;
    };
    QTRY_VERIFY_WITH_TIMEOUT(settled(), 30000);

    const QJsonObject value = *server->valueOfState("s");
    for (int i = 0; i < Clients; ++i) {
        QCOMPARE(clients.at(i)->jsonValue(), value);
        QCOMPARE(clients.at(i)->jsonServerValue(), value);
    }
    // Every update ended in exactly one answer; acknowledged appends are there exactly
    // once, refused ones not at all, lost ones at most once.
    QHash<QString, int> inLog;
    for (const QJsonValue &item : value.value("log").toArray())
        ++inLog[item.toString()];
    int acknowledged = 0;
    int lost = 0;
    for (int i = 0; i < Clients; ++i) {
        for (auto it = tracked[i].cbegin(); it != tracked[i].cend(); ++it) {
            const Tracked &t = it.value();
            QVERIFY2(t.acknowledged + t.failed == 1,
                     qPrintable(QStringLiteral("client %1 request %2: %3 acks, %4 failures")
                                        .arg(i)
                                        .arg(it.key())
                                        .arg(t.acknowledged)
                                        .arg(t.failed)));
            acknowledged += t.acknowledged;
            if (t.failed) {
                QCOMPARE(t.error, Error::ConnectionLost);
                ++lost;
            }
            if (t.appended.isEmpty())
                continue;
            const int times = inLog.value(t.appended);
            if (t.acknowledged)
                QVERIFY2(times == 1, qPrintable(t.appended));
            else
                QVERIFY2(times <= 1, qPrintable(t.appended));
        }
    }
    qInfo("%d updates sent, %d acknowledged, %d lost in %d cuts, %d times conflated; state at "
          "version %lld",
          sent, acknowledged, lost, cuts, s_conflations, server->versionOfState("s"));
    QVERIFY(cuts > 10);
    if (maxPendingOutput > 0)
        QVERIFY2(s_conflations > 0, "the server never conflated: the row tests nothing more");
    QVERIFY(acknowledged > sent / 2);
}

QTEST_MAIN(tst_Convergence)
#include "tst_convergence.moc"
