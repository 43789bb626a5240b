// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Faults of whole processes: clients killed with SIGKILL (no close frame, no goodbye),
// and a qstatesyncd stopped and started again while clients are joined.

#include "daemonsupport.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qprocess.h>
#include <QtNetwork/qtcpserver.h>
#include <QtTest/qtest.h>

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

quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        qFatal("no free port");
    return probe.serverPort();
}
} // namespace

class tst_Faults : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void killedClientsLeaveAndTheirUpdatesStay();
    void killedLastClientRunsSelfDestruct();
    void daemonRestartedClientsComeBack();
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

QTEST_MAIN(tst_Faults)
#include "tst_faults.moc"
