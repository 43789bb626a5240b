// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Slow consumers: a client that reads less than its state sends has its updates
// conflated once too much waits for it, while the other clients get every update in
// order; the server's memory for it stays bounded, and once it reads again it converges
// to the server's value.

#include "logcapture.h"
#include "qstatesyncmerge_p.h"
#include "testsupport.h"

#include <QStateSyncer>

#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

namespace {
enum class Pattern { Patches, Appends, NotComposable };

constexpr qint64 Limit = 64 * 1024;

// The change of round i; each keeps the state small and every top-level key present, so
// a v1 copy (which cannot delete keys) equals the server's value too.
struct Change
{
    bool append = false;
    QJsonObject data;
};

Change changeOf(Pattern pattern, int round)
{
    switch (pattern) {
    case Pattern::Patches:
        return {false,
                {{"counter", round},
                 {"blob", QString(4000, QChar(u'a' + round % 26))},
                 {"nested", QJsonObject{{QStringLiteral("k%1").arg(round % 7), round}}}}};
    case Pattern::Appends:
        // A chat whose history is cleared now and then.
        if (round % 20 == 0)
            return {false, {{"list", QJsonArray()}}};
        return {true,
                {{"list", QJsonArray{QJsonObject{{"i", round}, {"pad", QString(1000, u'p')}}}}}};
    case Pattern::NotComposable:
        // A scalar, then an object at the same key: no single merge patch says both.
        return {false,
                {{"k", round % 2 ? QJsonValue(round) : QJsonValue(QJsonObject{{"v", round}})},
                 {"blob", QString(4000, u'b')}}};
    }
    return {};
}
} // namespace

class tst_SlowConsumer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void slowClientIsConflatedWhileOthersGetEveryUpdate_data();
    void slowClientIsConflatedWhileOthersGetEveryUpdate();
    void presenceWhileCongestedComesAsASnapshot();
    void clientThatAsksButNeverReadsIsDropped();
    void changingTheLimitWhileConflatingCatchesUp_data();
    void changingTheLimitWhileConflatingCatchesUp();

private:
    std::unique_ptr<LogCapture> m_log;
};

void tst_SlowConsumer::initTestCase()
{
    m_log = std::make_unique<LogCapture>();
}

void tst_SlowConsumer::slowClientIsConflatedWhileOthersGetEveryUpdate_data()
{
    QTest::addColumn<bool>("v2");
    QTest::addColumn<QStateSync::MergeMode>("mode");
    QTest::addColumn<int>("patternNumber");
    QTest::addColumn<bool>("snapshotExpected");
    QTest::addRow("v2 deep, patches compose")
            << true << QStateSync::MergeMode::Deep << int(Pattern::Patches) << false;
    QTest::addRow("v2 shallow, patches compose")
            << true << QStateSync::MergeMode::Shallow << int(Pattern::Patches) << false;
    QTest::addRow("v2 deep, appends")
            << true << QStateSync::MergeMode::Deep << int(Pattern::Appends) << false;
    QTest::addRow("v2 deep, not composable: a snapshot")
            << true << QStateSync::MergeMode::Deep << int(Pattern::NotComposable) << true;
    QTest::addRow("v1, touched keys")
            << false << QStateSync::MergeMode::Deep << int(Pattern::Patches) << false;
    QTest::addRow("v1, appends") << false << QStateSync::MergeMode::Deep << int(Pattern::Appends)
                                 << false;
}

void tst_SlowConsumer::slowClientIsConflatedWhileOthersGetEveryUpdate()
{
    QFETCH(bool, v2);
    QFETCH(QStateSync::MergeMode, mode);
    QFETCH(int, patternNumber);
    const auto pattern = Pattern(patternNumber);
    QFETCH(bool, snapshotExpected);

    const auto server = startServer();
    server->setMaxPendingOutput(Limit);
    server->setHeartbeatInterval(0); // the slow peer answers no ping while it does not read
    server->setUpdateRate(0);
    createState(*server, "s", QJsonObject{{"list", QJsonArray()}}, mode);

    RawClient fast;
    QVERIFY(fast.open(urlOf(*server), "fast"));
    fast.joinAndWait("s");
    RawTcpPeer slow({v2, true, 4096});
    QVERIFY(slow.open(server->serverPort(), "slow"));
    slow.join("s");
    const QJsonObject joined = slow.take(7).value("data").toObject();
    QJsonObject copy = joined.value("state").toObject();
    qint64 version = joined.value("version").toInteger();
    slow.stopReading();

    // Changes until the slow client has been congested for a long while: far more than
    // the limit is sent to the others meanwhile.
    qint64 expectedVersion = 0;
    qint64 maxPending = 0;
    int congestedSince = -1;
    int roundsHeldBack = 0;
    bool ownChangeSent = false;
    LogCapture::clear();
    for (int round = 1; round <= 8000; ++round) {
        const Change change = changeOf(pattern, round);
        if (change.append)
            QVERIFY(server->appendToState("s", change.data));
        else
            QVERIFY(server->updateStateValue("s", change.data));
        ++expectedVersion;
        const QJsonObject seen = fast.take(change.append ? 22 : 3).value("data").toObject();
        QCOMPARE(seen.value("version").toInteger(), expectedVersion);
        QCOMPARE(seen.value(change.append ? "appends" : "updates").toObject(), change.data);

        // What waits now is the slow client's: the fast one has read its copy.
        const qint64 pending = server->pendingOutputBytes();
        maxPending = std::max(maxPending, pending);
        QVERIFY2(pending <= Limit + server->sizeOfState("s") + 16 * 1024,
                 qPrintable(QStringLiteral("round %1: %2 bytes wait").arg(round).arg(pending)));
        // Congested once the server says it conflates: one look above the limit may be
        // bytes an I/O thread was about to hand to the system, which can take them all.
        if (congestedSince < 0 && pending > Limit
            && !LogCapture::linesIn("qstatesync.server").filter("conflating").isEmpty()) {
            congestedSince = round;
        }
        // The system's buffers for the connection grow for a while and take what waited:
        // conflation ends when the queue falls to a quarter of the limit, and only rounds
        // above that (with a margin for this round's frames) are surely held back.
        if (congestedSince > 0)
            roundsHeldBack = pending > Limit / 4 + 16 * 1024 ? roundsHeldBack + 1 : 0;
        if (congestedSince > 0 && !ownChangeSent) {
            // The slow client still writes: its own change is acknowledged later.
            slow.send(3,
                      QJsonObject{{"updates", QJsonObject{{"mine", true}}}, {"requestId", "own"}});
            ++expectedVersion;
            QCOMPARE(fast.takeData(3).value("version").toInteger(), expectedVersion);
            ownChangeSent = true;
        }
        if (roundsHeldBack >= 300)
            break;
    }
    QVERIFY2(roundsHeldBack >= 300, "the slow client's queue never stayed full");
    QCOMPARE(server->versionOfState("s"), expectedVersion);
    qInfo("congested from round %d; at most %lld bytes waited", congestedSince, maxPending);

    slow.resumeReading();
    bool conflated = false;
    bool snapshot = false;
    bool gap = false;
    bool acknowledgedLater = false;
    QJsonArray acknowledged;
    QVERIFY(slow.waitUntil([&] {
        while (!slow.received.isEmpty()) {
            const QJsonObject message = slow.received.takeFirst();
            const int type = message.value("type").toInt();
            const QJsonObject data = message.value("data").toObject();
            const qint64 next = data.value("version").toInteger(-1);
            if (type == 7) {
                snapshot = true;
                copy = data.value("state").toObject();
            } else if (type == 3 || type == 22) {
                if (data.value("conflated").toBool())
                    conflated = true;
                else if (next != version + 1)
                    gap = true;
                if (type == 22)
                    QStateSyncMerge::applyAppend(copy, data.value("appends").toObject());
                else
                    QStateSyncMerge::apply(copy, data.value("updates").toObject(),
                                           v2 ? mode : QStateSync::MergeMode::Shallow);
            } else {
                continue; // presence
            }
            version = next;
            for (const QJsonValue id : data.value("requestIds").toArray()) {
                acknowledged.append(id);
                acknowledgedLater = true;
            }
            // Its own change was acknowledged as usual if it came while the queue had
            // room for a moment: its packet lets the system take more of the backlog.
            if (data.contains("requestId"))
                acknowledged.append(data.value("requestId"));
        }
        return version == expectedVersion;
    }));
    QVERIFY2(!gap, "a version was skipped without a conflated message");
    QCOMPARE(copy, *server->valueOfState("s"));
    // It did not get every update: what it missed came in one message.
    QVERIFY(slow.textFramesReceived < expectedVersion);
    QCOMPARE(snapshot, snapshotExpected);
    if (!snapshotExpected)
        QVERIFY(conflated);
    // Its own change was acknowledged exactly once, in one way or the other.
    QCOMPARE(acknowledged, QJsonArray{"own"});
    qInfo("its own change was acknowledged %s",
          acknowledgedLater ? "in the catch-up message" : "by its echo");
    QVERIFY(!LogCapture::linesIn("qstatesync.server").filter("conflating").isEmpty());
    QCOMPARE(server->clientCount(), 2);
}

void tst_SlowConsumer::presenceWhileCongestedComesAsASnapshot()
{
    const auto server = startServer();
    server->setMaxPendingOutput(Limit);
    server->setHeartbeatInterval(0);
    createState(*server, "s");
    RawTcpPeer slow({true, true, 4096});
    QVERIFY(slow.open(server->serverPort(), "slow"));
    slow.join("s");
    QVERIFY(!slow.take(7).isEmpty());
    slow.stopReading();
    // Only the slow client is there: what waits is its own.
    QVERIFY2(fillOutputBeyond(*server, "s", Limit), "the slow client's queue never filled");
    server->updateStateValue("s", {{"after", 1}}); // starts conflating

    // Someone joins, which is a presence event, and the state changes once more: both
    // come in one snapshot. (Nothing from the slow client meanwhile: its packets would
    // let the system take more of its backlog.)
    RawClient other;
    QVERIFY(other.open(urlOf(*server), "other"));
    other.joinAndWait("s");
    server->updateStateValue("s", {{"last", true}});
    // It has not read down to a quarter of the limit meanwhile: still conflated.
    QVERIFY(server->pendingOutputBytes() > Limit / 4);
    const int framesBefore = slow.textFramesReceived;
    slow.resumeReading();
    QJsonObject snapshot;
    QVERIFY(slow.waitUntil([&] {
        for (const QJsonObject &message : std::as_const(slow.received)) {
            if (message.value("type").toInt() == 7)
                snapshot = message.value("data").toObject();
        }
        return snapshot.value("version").toInteger() == server->versionOfState("s");
    }));
    QCOMPARE(snapshot.value("state").toObject(), *server->valueOfState("s"));
    QCOMPARE(snapshot.value("presence").toArray().size(), 2);
    QVERIFY(slow.textFramesReceived > framesBefore);
    const auto snapshots = std::count_if(
            slow.received.cbegin(), slow.received.cend(),
            [](const QJsonObject &message) { return message.value("type").toInt() == 7; });
    QCOMPARE(snapshots, 1);
    // No presence event and no conflated patch came besides.
    QVERIFY(std::none_of(
            slow.received.cbegin(), slow.received.cend(), [](const QJsonObject &message) {
                return message.value("type").toInt() == 27
                        || message.value("data").toObject().value("conflated").toBool();
            }));
}

void tst_SlowConsumer::clientThatAsksButNeverReadsIsDropped()
{
    const auto server = startServer();
    server->setMaxPendingOutput(16 * 1024);
    server->setHeartbeatInterval(0);
    server->setUpdateRate(0);
    createState(*server, "s");
    RawTcpPeer peer({true, true, 4096});
    QVERIFY(peer.open(server->serverPort(), "greedy"));
    peer.join("s");
    QVERIFY(!peer.take(7).isEmpty());
    peer.stopReading();
    LogCapture::clear();

    // Its answers cannot be conflated: it asks and asks, and never reads them.
    for (int i = 0; i < 20000 && server->connectionsDropped() == 0; ++i) {
        peer.sendText("not json " + QByteArray(200, 'x'));
        if (i % 20 == 0)
            QCoreApplication::processEvents();
    }
    QTRY_COMPARE(server->connectionsDropped(), 1u);
    QTRY_COMPARE(server->clientCount(), 0);
    QVERIFY(!LogCapture::linesIn("qstatesync.server").filter("does not read").isEmpty());
    QCOMPARE(server->clientsOfState("s"), QStringList());
}

void tst_SlowConsumer::changingTheLimitWhileConflatingCatchesUp_data()
{
    QTest::addColumn<qint64>("newLimit");
    QTest::addRow("limit removed") << qint64(0);
    QTest::addRow("limit raised past what waits") << qint64(64 * 1024 * 1024);
}

// A client is conflated under one limit, then the limit goes or grows past what waits for
// it: once it reads, it gets what it missed and what comes after.
void tst_SlowConsumer::changingTheLimitWhileConflatingCatchesUp()
{
    QFETCH(qint64, newLimit);
    const auto server = startServer();
    server->setMaxPendingOutput(Limit);
    server->setHeartbeatInterval(0);
    server->setUpdateRate(0);
    createState(*server, "s");
    RawTcpPeer slow({true, true, 4096});
    QVERIFY(slow.open(server->serverPort(), "slow"));
    slow.join("s");
    QJsonObject copy = slow.take(7).value("data").toObject().value("state").toObject();
    slow.stopReading();
    QVERIFY2(fillOutputBeyond(*server, "s", Limit), "the slow client's queue never filled");
    LogCapture::clear();
    server->updateStateValue("s", {{"missed", true}});
    QVERIFY(!LogCapture::linesIn("qstatesync.server").filter("conflating").isEmpty());

    server->setMaxPendingOutput(newLimit);
    server->updateStateValue("s", {{"after", true}});
    slow.resumeReading();
    const qint64 version = server->versionOfState("s");
    QVERIFY(slow.waitUntil([&] {
        while (!slow.received.isEmpty()) {
            const QJsonObject data = slow.received.takeFirst().value("data").toObject();
            if (data.contains("state"))
                copy = data.value("state").toObject();
            else
                QStateSyncMerge::apply(copy, data.value("updates").toObject(),
                                       QStateSync::MergeMode::Deep);
            if (data.value("version").toInteger() == version)
                return true;
        }
        return false;
    }));
    QCOMPARE(copy, *server->valueOfState("s"));
    QVERIFY(copy.contains("missed") && copy.contains("after"));
}

QTEST_GUILESS_MAIN(tst_SlowConsumer)
#include "tst_slowconsumer.moc"
