// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The server's heartbeat: it pings every connection and drops the peers that stopped
// answering, as if they had disconnected; peers that answer stay.

#include "logcapture.h"
#include "testsupport.h"

#include <QStateSyncer>

#include <QtCore/qtimer.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

class tst_Heartbeat : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void silentPeerIsDroppedAndLeavesItsState();
    void answeringPeersAreKept();
    void messagesAreASignOfLifeToo();
    void readingABacklogIsASignOfLifeToo();
    void zeroIntervalSendsNoPings();

private:
    std::unique_ptr<LogCapture> m_log;
};

void tst_Heartbeat::initTestCase()
{
    m_log = std::make_unique<LogCapture>();
}

void tst_Heartbeat::silentPeerIsDroppedAndLeavesItsState()
{
    const auto server = startServer();
    server->setHeartbeatInterval(200);
    QStateSyncStateOptions options;
    options.setIdentifier("room");
    int selfDestructAsked = 0;
    options.setSelfDestruct([&](int, const QDateTime &) {
        ++selfDestructAsked;
        return false;
    });
    server->createState(options);
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);

    RawTcpPeer silent({true, false, 0});
    QVERIFY(silent.open(server->serverPort(), "silent"));
    silent.join("room");
    QVERIFY(!silent.take(7).isEmpty());
    QCOMPARE(server->clientsOfState("room"), QStringList{"silent"});
    LogCapture::clear();

    // It reads the pings but never answers them.
    QVERIFY(silent.waitUntil([&] { return !silent.isConnected(); }));
    QVERIFY(silent.pingsReceived >= 1);
    QTRY_COMPARE(left.count(), 1);
    QCOMPARE(left.first().at(1).toString(), QStringLiteral("silent"));
    QCOMPARE(selfDestructAsked, 1);
    QCOMPARE(server->clientCount(), 0);
    QCOMPARE(server->connectionsDropped(), 1u);
    const QStringList lines = LogCapture::linesIn("qstatesync.server");
    QVERIFY(std::any_of(lines.cbegin(), lines.cend(), [](const QString &line) {
        return line.contains(QLatin1String("silent")) && line.contains(QLatin1String("no sign"));
    }));
}

void tst_Heartbeat::answeringPeersAreKept()
{
    // Long enough that a ping's answer, which this same thread delivers, is never late
    // even on a loaded machine.
    const auto server = startServer();
    server->setHeartbeatInterval(300);
    createState(*server, "room");
    RawTcpPeer answering({true, true, 0});
    RawTcpPeer silent({true, false, 0});
    RawClient qtClient; // QWebSocket answers pings on its own
    QVERIFY(answering.open(server->serverPort(), "answering"));
    QVERIFY(silent.open(server->serverPort(), "silent"));
    QVERIFY(qtClient.open(urlOf(*server), "qt"));
    answering.join("room");
    QVERIFY(!answering.take(7).isEmpty());
    qtClient.joinAndWait("room");

    // Long after the silent one was dropped, the others are still there.
    QVERIFY(silent.waitUntil([&] { return !silent.isConnected(); }));
    const int pingsSoFar = answering.pingsReceived;
    QVERIFY(answering.waitUntil([&] { return answering.pingsReceived >= pingsSoFar + 5; }));
    QVERIFY(answering.isConnected());
    QCOMPARE(qtClient.socket.state(), QAbstractSocket::ConnectedState);
    QCOMPARE(server->clientCount(), 2);
    QCOMPARE(server->clientsOfState("room").size(), 2);
    QCOMPARE(server->connectionsDropped(), 1u);
    qtClient.update(QJsonObject{{"still", "here"}}, 1);
    QCOMPARE(qtClient.takeData(3).value("requestId").toInt(), 1);
}

void tst_Heartbeat::messagesAreASignOfLifeToo()
{
    // A peer that never answers a ping but sends a message whenever one comes is alive.
    const auto server = startServer();
    server->setHeartbeatInterval(300);
    createState(*server, "room");
    // Declared before the peer, whose destruction still signals changed().
    int answered = 0;
    RawTcpPeer chatty({true, false, 0});
    QVERIFY(chatty.open(server->serverPort(), "chatty"));
    chatty.join("room");
    QVERIFY(!chatty.take(7).isEmpty());
    connect(&chatty, &RawTcpPeer::changed, this, [&] {
        while (answered < chatty.pingsReceived) {
            ++answered;
            chatty.send(26, QJsonObject{{"presence", QJsonObject{{"ping", answered}}}});
        }
    });
    QVERIFY(chatty.waitUntil([&] { return chatty.pingsReceived >= 6; }));
    QVERIFY(chatty.isConnected());
    QCOMPARE(server->clientCount(), 1);
    QCOMPARE(server->connectionsDropped(), 0u);
}

void tst_Heartbeat::readingABacklogIsASignOfLifeToo()
{
    // A slow client's pong waits behind what it has not read yet; while it keeps reading
    // some of its backlog, it is alive. This one never answers pings nor sends anything.
    const qint64 limit = 64 * 1024;
    const auto server = startServer();
    server->setHeartbeatInterval(0);
    server->setMaxPendingOutput(limit);
    createState(*server, "s");
    RawTcpPeer slow({true, false, 4096});
    QVERIFY(slow.open(server->serverPort(), "slow"));
    slow.join("s");
    QVERIFY(!slow.take(7).isEmpty());
    slow.stopReading();
    QVERIFY2(fillOutputBeyond(*server, "s", limit), "the slow client's queue never filled");

    // The state keeps changing faster than the client reads, so a backlog stays.
    server->setHeartbeatInterval(300);
    bool draining = true;
    int ticks = 0;
    QTimer pace;
    connect(&pace, &QTimer::timeout, this, [&] {
        ++ticks;
        server->updateStateValue("s", {{"n", -ticks}, {"blob", QString(8000, u'y')}});
        if (draining)
            slow.discard(4096);
    });
    pace.start(20);
    // Two seconds: more than six heartbeat intervals.
    QTRY_VERIFY_WITH_TIMEOUT(ticks >= 100, 20000);
    QCOMPARE(server->connectionsDropped(), 0u);
    QCOMPARE(server->clientsOfState("s"), QStringList{"slow"});

    // Once it stops reading, it is dropped.
    draining = false;
    QTRY_COMPARE_WITH_TIMEOUT(server->connectionsDropped(), 1u, Timeout);
    QCOMPARE(server->clientCount(), 0);
}

void tst_Heartbeat::zeroIntervalSendsNoPings()
{
    const auto quiet = startServer();
    quiet->setHeartbeatInterval(0);
    const auto reference = startServer();
    reference->setHeartbeatInterval(200);
    RawTcpPeer unpinged({true, false, 0});
    RawTcpPeer pinged({true, true, 0});
    QVERIFY(unpinged.open(quiet->serverPort(), "a"));
    QVERIFY(pinged.open(reference->serverPort(), "b"));
    // While the reference server pinged its peer several times, the quiet one sent none
    // and dropped nothing.
    QVERIFY(pinged.waitUntil([&] { return pinged.pingsReceived >= 5; }));
    QCOMPARE(unpinged.pingsReceived, 0);
    QVERIFY(unpinged.isConnected());
    QCOMPARE(quiet->clientCount(), 1);

    // Switched on later, the heartbeat gives the silent peer a whole interval, then drops it.
    quiet->setHeartbeatInterval(100);
    QVERIFY(unpinged.waitUntil([&] { return !unpinged.isConnected(); }));
    QVERIFY(unpinged.pingsReceived >= 1);
}

QTEST_GUILESS_MAIN(tst_Heartbeat)
#include "tst_heartbeat.moc"
