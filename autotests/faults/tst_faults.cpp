// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Faults of whole processes: clients killed with SIGKILL (no close frame, no goodbye),
// and a qstatesyncd stopped or killed and started again while clients are joined, in
// memory and with its SQLite storage in each durability mode.

#include "daemonsupport.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qprocess.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qtcpserver.h>
#include <QtTest/qtest.h>

#include <functional>

using namespace TestSupport;

namespace {
// A client process that was told to join; always killed at the end.
class Peer
{
public:
    Peer(const QUrl &url, const QString &identifier, const QString &state)
    {
        process.start(QStringLiteral(FAULTPEER_PATH), {url.toString(), identifier, state});
    }
    ~Peer()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(Timeout);
        }
    }
    bool waitForAcknowledgement()
    {
        return QTest::qWaitFor(
                [this] {
                    output += process.readAllStandardOutput();
                    return output.contains("acknowledged");
                },
                Timeout);
    }
    void killHard()
    {
        process.kill(); // SIGKILL: the kernel closes the socket, nobody says goodbye
        process.waitForFinished(Timeout);
    }

    QProcess process;
    QByteArray output;
};

// Clients that write keys of their own as fast as the server acknowledges them (a few in
// flight each), and remember which were acknowledged. The server's default update rate
// (a burst of 200, then 100/s per client) is not reached before the tests kill it.
class Writers
{
public:
    Writers(const QUrl &url, const QString &state, int count)
    {
        for (int w = 0; w < count; ++w) {
            auto writer = std::make_unique<Writer>();
            writer->name = QStringLiteral("w%1").arg(w);
            writer->client = std::make_unique<QStateSyncClient>(url, writer->name);
            Writer *raw = writer.get();
            QObject::connect(raw->client.get(), &QStateSyncClient::joined, raw->client.get(),
                             [raw] {
                                 for (int i = 0; i < InFlight; ++i)
                                     raw->sendNext();
                             });
            QObject::connect(raw->client.get(), &QStateSyncClient::updateAcknowledged,
                             raw->client.get(), [this, raw](qint64 requestId, qint64 version) {
                                 const QString key = raw->keyOf.take(requestId);
                                 if (key.isEmpty())
                                     return;
                                 acknowledged.insert(key, raw->valueOf(key));
                                 highestVersion = std::max(highestVersion, version);
                                 if (acknowledged.size() == killAt && kill) {
                                     failuresBeforeKill = failures;
                                     kill();
                                     return;
                                 }
                                 raw->sendNext();
                             });
            QObject::connect(raw->client.get(), &QStateSyncClient::updateFailed, raw->client.get(),
                             [this] { ++failures; });
            writer->client->connectToState(state);
            m_writers.push_back(std::move(writer));
        }
    }
    // Stops them all at once: nothing more is sent or counted.
    void stop() { m_writers.clear(); }

    QHash<QString, int> acknowledged; // key: the value it was given
    qint64 highestVersion = 0;
    int failures = 0;
    int failuresBeforeKill = -1;
    // Called when the killAt-th acknowledgement arrives, with the load at full speed.
    std::function<void()> kill;
    qsizetype killAt = 0;

private:
    static constexpr int InFlight = 4;
    struct Writer
    {
        QString name;
        std::unique_ptr<QStateSyncClient> client;
        int sent = 0;
        QHash<qint64, QString> keyOf;
        int valueOf(const QString &key) const { return key.section(u'-', 1).toInt(); }
        void sendNext()
        {
            const QString key = QStringLiteral("%1-%2").arg(name).arg(++sent);
            keyOf.insert(client->updateState(QJsonObject{{key, sent}}), key);
        }
    };
    std::vector<std::unique_ptr<Writer>> m_writers;
};

// The value of a state as a new client sees it on joining.
QVariantMap joinAndRead(const QUrl &url, const QString &state, qint64 *version)
{
    QStateSyncClient reader(url, QStringLiteral("reader"));
    QSignalSpy joined(&reader, &QStateSyncClient::joined);
    reader.connectToState(state);
    if (!joined.wait(Timeout))
        return QVariantMap{{QStringLiteral("error"), QStringLiteral("did not join")}};
    *version = reader.version();
    return reader.value();
}

} // namespace

class tst_Faults : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void killedClientsLeaveAndTheirUpdatesStay();
    void killedLastClientRunsSelfDestruct();
    void daemonRestartedClientsComeBack();
    void durableDaemonKilledKeepsEveryAcknowledgedUpdate();
    void batchedDaemonKilledComesBackAtOneVersion();
};

void tst_Faults::killedClientsLeaveAndTheirUpdatesStay()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"log", QJsonArray{}}});
    auto watcher = joinedClient(*server, "watcher", "s");
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    QSignalSpy peerLeft(watcher.get(), &QStateSyncClient::peerLeft);

    std::vector<std::unique_ptr<Peer>> peers;
    for (int i = 0; i < 3; ++i) {
        peers.push_back(
                std::make_unique<Peer>(urlOf(*server), QStringLiteral("peer%1").arg(i), "s"));
        QVERIFY(peers.back()->waitForAcknowledgement());
    }
    QCOMPARE(server->clientsOfState("s").size(), 4);
    for (const auto &peer : peers)
        peer->killHard();

    QTRY_COMPARE_WITH_TIMEOUT(left.count(), 3, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(peerLeft.count(), 3, Timeout);
    QCOMPARE(server->clientsOfState("s"), QStringList{"watcher"});
    QCOMPARE(server->clientCount(), 1);
    // What the server acknowledged to the dead clients is still there, and the survivor
    // holds the same value.
    const QJsonArray log = server->valueOfState("s")->value("log").toArray();
    QCOMPARE(log.size(), 3);
    for (int i = 0; i < 3; ++i)
        QVERIFY(log.contains(QStringLiteral("peer%1").arg(i)));
    QTRY_COMPARE_WITH_TIMEOUT(watcher->jsonValue(), *server->valueOfState("s"), Timeout);
}

void tst_Faults::killedLastClientRunsSelfDestruct()
{
    auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("ephemeral");
    options.setSelfDestruct([](int clients, const QDateTime &) { return clients == 0; });
    server->createState(options);
    QSignalSpy removed(server.get(), &QStateSyncer::stateRemoved);
    Peer peer(urlOf(*server), "only", "ephemeral");
    QVERIFY(peer.waitForAcknowledgement());
    peer.killHard();
    QVERIFY(removed.wait(Timeout));
    QCOMPARE(removed.at(0).at(0).toString(), QStringLiteral("ephemeral"));
    QCOMPARE(removed.at(0).at(1).value<QStateSync::RemovalReason>(),
             QStateSync::RemovalReason::SelfDestruct);
    QTRY_COMPARE_WITH_TIMEOUT(server->clientCount(), 0, Timeout);
}

void tst_Faults::daemonRestartedClientsComeBack()
{
    const quint16 port = freePort();
    const QStringList arguments{"--host",  "127.0.0.1", "--port",    QString::number(port),
                                "--state", "demo",      "--storage", "memory"};
    auto daemon = std::make_unique<DaemonSupport::Daemon>(arguments);
    QVERIFY(daemon->start());
    const QUrl url = daemon->url;

    QStateSyncClient client(url, "alice");
    client.setReconnectDelay(20);
    client.setMaxReconnectDelay(200);
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    QSignalSpy acknowledged(&client, &QStateSyncClient::updateAcknowledged);
    client.connectToState("demo");
    QVERIFY(joined.wait(Timeout));
    client.updateState(QJsonObject{{"before", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    QList<QVariantMap> heard;
    client.addStateUpdateListener(
            "all", [&](const QVariantMap &updates, const QVariantMap &) { heard.append(updates); });

    // Killed outright: the client finds out and keeps trying.
    daemon->process.kill();
    QVERIFY(daemon->waitForExit());
    QTRY_COMPARE_WITH_TIMEOUT(client.status(), QStateSyncClient::Reconnecting, Timeout);
    client.updateState(QJsonObject{{"offline", true}});
    QCOMPARE(client.pendingUpdateCount(), 1);

    daemon = std::make_unique<DaemonSupport::Daemon>(arguments);
    QVERIFY(daemon->start());
    QVERIFY(joined.wait(Timeout));
    QTRY_COMPARE_WITH_TIMEOUT(client.pendingUpdateCount(), 0, Timeout);
    // A state in memory starts over with the process: the client follows the new server's
    // value (the key written before the crash went with it) and its queued update is in.
    QCOMPARE(client.value(), QVariantMap({{"offline", true}}));
    QCOMPARE(client.version(), 1);
    QVERIFY(!heard.isEmpty());
    QVERIFY(daemon->terminate());
}

void tst_Faults::durableDaemonKilledKeepsEveryAcknowledgedUpdate()
{
    QTemporaryDir data; // the restarted daemon finds what the killed one stored
    const QStringList arguments{
            "--host",     "127.0.0.1", "--port",       QString::number(freePort()),
            "--state",    "ledger",    "--durability", "durable",
            "--data-dir", data.path()};
    auto daemon = std::make_unique<DaemonSupport::Daemon>(arguments);
    QVERIFY(daemon->start());
    const QUrl url = daemon->url;
    Writers writers(url, QStringLiteral("ledger"), 3);
    // Killed with updates in flight; what was acknowledged up to here must all come back.
    writers.killAt = 300;
    writers.kill = [&] { daemon->process.kill(); };
    QTRY_VERIFY_WITH_TIMEOUT(writers.acknowledged.size() >= 300, Timeout);
    QVERIFY(daemon->waitForExit());
    QCOMPARE(writers.failuresBeforeKill, 0);
    const QHash<QString, int> acknowledged = writers.acknowledged;
    const qint64 highestVersion = writers.highestVersion;
    writers.stop();

    daemon = std::make_unique<DaemonSupport::Daemon>(arguments);
    QVERIFY(daemon->start());
    qint64 version = -1;
    const QVariantMap value = joinAndRead(daemon->url, QStringLiteral("ledger"), &version);
    QVERIFY(version >= highestVersion);
    int missing = 0;
    for (auto it = acknowledged.constBegin(); it != acknowledged.constEnd(); ++it) {
        if (value.value(it.key()).toInt() != it.value())
            ++missing;
    }
    QCOMPARE(missing, 0);
    // Nothing was made up either: every key is one a writer sent.
    QCOMPARE(value.size(), int(version));
    QVERIFY(daemon->terminate());
}

void tst_Faults::batchedDaemonKilledComesBackAtOneVersion()
{
    QTemporaryDir data;
    const QStringList arguments{"--host",  "127.0.0.1", "--port",     QString::number(freePort()),
                                "--state", "journal",   "--data-dir", data.path()};
    auto daemon = std::make_unique<DaemonSupport::Daemon>(arguments);
    QVERIFY(daemon->start());
    Writers writers(daemon->url, QStringLiteral("journal"), 1);
    writers.killAt = 150;
    writers.kill = [&] { daemon->process.kill(); };
    QTRY_VERIFY_WITH_TIMEOUT(writers.acknowledged.size() >= 150, Timeout);
    QVERIFY(daemon->waitForExit());
    QCOMPARE(writers.failuresBeforeKill, 0);
    const int acknowledged = int(writers.acknowledged.size());
    writers.stop();

    daemon = std::make_unique<DaemonSupport::Daemon>(arguments);
    QVERIFY(daemon->start());
    qint64 version = -1;
    const QVariantMap value = joinAndRead(daemon->url, QStringLiteral("journal"), &version);
    // Batched writes may lose the last interval's changes, never part of one: the one
    // writer's keys w0-1 .. w0-V, V the version that came back, and no other.
    QVERIFY(version >= 0);
    QVERIFY(version <= acknowledged + 4);
    QCOMPARE(value.size(), int(version));
    for (int n = 1; n <= version; ++n)
        QCOMPARE(value.value(QStringLiteral("w0-%1").arg(n)).toInt(), n);
    QVERIFY(daemon->terminate());
}

QTEST_MAIN(tst_Faults)
#include "tst_faults.moc"
