// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The client's copy of a state without a network: optimistic changes, confirmations,
// corrections, rollbacks and resyncs, and that what listeners are told adds up to the
// copy.

#include "qstatesynclocalcopy_p.h"
#include "qstatesyncmerge_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qrandom.h>
#include <QtTest/qtest.h>

#include <deque>

using Kind = QStateSyncLocalCopy::Kind;
using Operation = QStateSyncLocalCopy::Operation;
using Diff = QStateSyncLocalCopy::Diff;

namespace {
QList<qint64> ids(qint64 requestId)
{
    return requestId >= 0 ? QList<qint64>{requestId} : QList<qint64>{};
}

Operation operation(qint64 id, Kind kind, const QJsonObject &changes, bool sent = true)
{
    Operation result;
    result.requestId = id;
    result.kind = kind;
    result.changes = changes;
    result.stateIdentifier = QStringLiteral("s");
    result.sent = sent;
    return result;
}

QByteArray text(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

// What a listener knows: the copy as rebuilt from the diffs alone. Checks that every diff
// names the key's previous value right and changes something.
struct ListenerView
{
    QJsonObject value;

    bool follow(const Diff &diff, const QJsonObject &now, QString *problem)
    {
        for (const QString &key : diff.keys) {
            if (diff.previous.value(key) != value.value(key)) {
                *problem = QStringLiteral("wrong previous value of %1").arg(key);
                return false;
            }
            if (now.value(key) == value.value(key)) {
                *problem = QStringLiteral("%1 was reported but did not change").arg(key);
                return false;
            }
            if (now.contains(key))
                value.insert(key, now.value(key));
            else
                value.remove(key);
        }
        if (value != now) {
            *problem = QStringLiteral("a change was not reported: %1 vs %2")
                               .arg(QString::fromUtf8(text(value)), QString::fromUtf8(text(now)));
            return false;
        }
        return true;
    }
};
} // namespace

class tst_LocalCopy : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void optimisticChangeShowsAndIsConfirmed();
    void refusedChangeRollsBack();
    void correctedChangeShowsTheServersValue();
    void otherChangesLandUnderPendingOnes();
    void appendsStackOnTopOfTheServersArray();
    void resyncKeepsPendingChangesOnTop();
    void acknowledgedDuringResyncLeavesWithTheNewValue();
    void pessimisticCopyShowsOnlyTheServer();
    void changesForAnotherStateDoNotShow();
    void randomHistoriesConverge_data();
    void randomHistoriesConverge();
};

void tst_LocalCopy::optimisticChangeShowsAndIsConfirmed()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"a", 1}}, 3);
    const Diff shown = copy.addPending(operation(1, Kind::Update, QJsonObject{{"a", 2}}));
    QCOMPARE(shown.keys, QStringList{"a"});
    QCOMPARE(shown.previous.value("a").toInt(), 1);
    QCOMPARE(copy.value().value("a").toInt(), 2);
    QCOMPARE(copy.serverValue().value("a").toInt(), 1);
    QCOMPARE(copy.pendingCount(), 1);

    Diff confirmed;
    QVERIFY(copy.applyServerChange(Kind::Update, QJsonObject{{"a", 2}}, 4, ids(1), &confirmed));
    QVERIFY(confirmed.isEmpty()); // nothing new to show
    QCOMPARE(copy.version(), 4);
    QCOMPARE(copy.value(), copy.serverValue());
    QCOMPARE(copy.pendingCount(), 0);
}

void tst_LocalCopy::refusedChangeRollsBack()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"a", 1}}, 0);
    copy.addPending(operation(1, Kind::Update, QJsonObject{{"a", QJsonValue::Null}, {"b", 2}}));
    QCOMPARE(copy.value(), QJsonObject({{"b", 2}}));
    const Diff rolledBack = copy.removePending(1);
    QCOMPARE(rolledBack.keys.size(), 2);
    QVERIFY(!rolledBack.previous.contains("a"));
    QCOMPARE(rolledBack.previous.value("b").toInt(), 2);
    QCOMPARE(copy.value(), QJsonObject({{"a", 1}}));
}

void tst_LocalCopy::correctedChangeShowsTheServersValue()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"a", 1}}, 0);
    copy.addPending(operation(1, Kind::Update, QJsonObject{{"a", 2}}));
    Diff corrected;
    QVERIFY(copy.applyServerChange(Kind::Update, QJsonObject{{"a", 20}}, 1, ids(1), &corrected));
    QCOMPARE(corrected.keys, QStringList{"a"});
    QCOMPARE(corrected.previous.value("a").toInt(), 2);
    QCOMPARE(copy.value().value("a").toInt(), 20);
}

void tst_LocalCopy::otherChangesLandUnderPendingOnes()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"doc", QJsonObject{{"x", 1}, {"y", 1}}}}, 0);
    copy.addPending(operation(1, Kind::Update, QJsonObject{{"doc", QJsonObject{{"x", 2}}}}));
    Diff diff;
    // Another client changes y and x; the pending x stays on top until confirmed.
    QVERIFY(copy.applyServerChange(Kind::Update,
                                   QJsonObject{{"doc", QJsonObject{{"x", 9}, {"y", 9}}}}, 1,
                                   ids(-1), &diff));
    QCOMPARE(copy.value().value("doc").toObject(), QJsonObject({{"x", 2}, {"y", 9}}));
    QCOMPARE(diff.previous.value("doc").toObject(), QJsonObject({{"x", 2}, {"y", 1}}));
    QVERIFY(copy.applyServerChange(Kind::Update, QJsonObject{{"doc", QJsonObject{{"x", 2}}}}, 2,
                                   ids(1), &diff));
    QCOMPARE(copy.value(), copy.serverValue());
    QCOMPARE(copy.value().value("doc").toObject(), QJsonObject({{"x", 2}, {"y", 9}}));
}

void tst_LocalCopy::appendsStackOnTopOfTheServersArray()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"log", QJsonArray{1}}}, 0);
    copy.addPending(operation(1, Kind::Append, QJsonObject{{"log", QJsonArray{2}}}));
    QCOMPARE(copy.value().value("log").toArray(), QJsonArray({1, 2}));
    Diff diff;
    QVERIFY(copy.applyServerChange(Kind::Append, QJsonObject{{"log", QJsonArray{7}}}, 1, ids(-1),
                                   &diff));
    QCOMPARE(copy.value().value("log").toArray(), QJsonArray({1, 7, 2}));
    QVERIFY(copy.applyServerChange(Kind::Append, QJsonObject{{"log", QJsonArray{2}}}, 2, ids(1),
                                   &diff));
    QCOMPARE(copy.value().value("log").toArray(), QJsonArray({1, 7, 2}));
    QCOMPARE(copy.value(), copy.serverValue());
    // An append that does not fit the server's value is not taken.
    QStateSyncLocalCopy other;
    other.reset("s", QJsonObject{{"log", 5}}, 0);
    QVERIFY(!other.applyServerChange(Kind::Append, QJsonObject{{"log", QJsonArray{1}}}, 1, ids(-1),
                                     &diff));
    QCOMPARE(other.version(), 0);
    QCOMPARE(other.serverValue().value("log").toInt(), 5);
}

void tst_LocalCopy::resyncKeepsPendingChangesOnTop()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"a", 1}, {"b", 1}}, 0);
    copy.addPending(operation(1, Kind::Update, QJsonObject{{"a", 5}}, false));
    const Diff diff = copy.reset("s", QJsonObject{{"a", 2}, {"b", 2}, {"c", 3}}, 7);
    QCOMPARE(copy.value(), QJsonObject({{"a", 5}, {"b", 2}, {"c", 3}}));
    QStringList keys = diff.keys;
    keys.sort();
    QCOMPARE(keys, QStringList({"b", "c"})); // a still shows 5
    QCOMPARE(copy.version(), 7);
}

void tst_LocalCopy::acknowledgedDuringResyncLeavesWithTheNewValue()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"log", QJsonArray{}}}, 0);
    copy.addPending(operation(1, Kind::Append, QJsonObject{{"log", QJsonArray{1}}}));
    copy.findPending(1)->acknowledged = true;
    QCOMPARE(copy.pendingCount(), 1); // until the value that includes it arrives
    QCOMPARE(copy.value().value("log").toArray(), QJsonArray({1}));
    // The new value includes the append: it must not show twice.
    const Diff diff = copy.reset("s", QJsonObject{{"log", QJsonArray{1}}}, 1);
    QVERIFY(diff.isEmpty());
    QVERIFY(copy.pending().isEmpty());
    QCOMPARE(copy.value().value("log").toArray(), QJsonArray({1}));
}

void tst_LocalCopy::pessimisticCopyShowsOnlyTheServer()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"a", 1}}, 0);
    copy.addPending(operation(1, Kind::Update, QJsonObject{{"a", 2}}));
    const Diff off = copy.setOptimistic(false);
    QCOMPARE(off.keys, QStringList{"a"});
    QCOMPARE(copy.value().value("a").toInt(), 1);
    QVERIFY(copy.addPending(operation(2, Kind::Update, QJsonObject{{"b", 2}})).isEmpty());
    QVERIFY(!copy.value().contains("b"));
    const Diff on = copy.setOptimistic(true);
    QCOMPARE(on.keys.size(), 2);
    QCOMPARE(copy.value(), QJsonObject({{"a", 2}, {"b", 2}}));
}

void tst_LocalCopy::changesForAnotherStateDoNotShow()
{
    QStateSyncLocalCopy copy;
    copy.reset("s", QJsonObject{{"a", 1}}, 0);
    Operation elsewhere = operation(1, Kind::Update, QJsonObject{{"a", 2}}, false);
    elsewhere.stateIdentifier = "t";
    QVERIFY(copy.addPending(elsewhere).isEmpty());
    QCOMPARE(copy.value().value("a").toInt(), 1);
    // Once the copy holds t, it shows on t's value.
    copy.reset("t", QJsonObject{{"a", 10}}, 0);
    QCOMPARE(copy.value().value("a").toInt(), 2);
}

void tst_LocalCopy::randomHistoriesConverge_data()
{
    QTest::addColumn<quint32>("seed");
    QTest::addColumn<bool>("shallow");
    for (quint32 seed = 1; seed <= 12; ++seed)
        QTest::addRow("seed %u", seed) << seed << (seed % 4 == 0);
}

// Clients change one state at random (merges, deletions, nested objects, appends, some
// refused or rewritten by the server, some resyncs); the server applies them in arrival
// order and sends each result to every client, which receive at random moments. At every
// step each listener's view (rebuilt from the diffs alone) equals the copy, and once
// everything is delivered every copy equals the server's value.
void tst_LocalCopy::randomHistoriesConverge()
{
    QFETCH(quint32, seed);
    QFETCH(bool, shallow);
    const auto mode = shallow ? QStateSync::MergeMode::Shallow : QStateSync::MergeMode::Deep;
    QRandomGenerator random(seed);
    constexpr int Clients = 4;
    const QStringList keys{"a", "b", "c", "log"};

    struct Message
    {
        Kind kind;
        QJsonObject changes;
        qint64 version;
        int sender;
        qint64 requestId;
        bool refused;
    };
    struct Sent
    {
        int client;
        Operation operation;
    };
    QJsonObject server{{"log", QJsonArray{}}};
    qint64 version = 0;
    std::deque<Sent> toServer;
    QList<std::deque<Message>> toClient(Clients);
    QList<QStateSyncLocalCopy> copies(Clients);
    QList<ListenerView> views(Clients);
    for (int i = 0; i < Clients; ++i) {
        copies[i].setMergeMode(mode);
        copies[i].reset("s", server, version);
        views[i].value = server;
    }
    qint64 nextId = 1;

    const auto randomValue = [&](int depth) -> QJsonValue {
        switch (random.bounded(depth > 1 ? 4 : 5)) {
        case 0:
            return QJsonValue::Null;
        case 1:
            return int(random.bounded(5));
        case 2:
            return QJsonArray{int(random.bounded(3))};
        case 3:
            return QStringLiteral("t%1").arg(random.bounded(3));
        default: {
            QJsonObject nested;
            nested.insert(QStringLiteral("x%1").arg(random.bounded(3)),
                          random.bounded(2) ? QJsonValue(int(random.bounded(3)))
                                            : QJsonValue(QJsonValue::Null));
            return nested;
        }
        }
    };
    QString problem;
    // True when the listener's view still adds up; the first problem is kept.
    const auto check = [&](int client, const Diff &diff) {
        if (!problem.isEmpty())
            return false;
        if (views[client].follow(diff, copies[client].value(), &problem))
            return true;
        problem = QStringLiteral("client %1: %2").arg(client).arg(problem);
        return false;
    };

    for (int step = 0; step < 3000; ++step) {
        const int client = int(random.bounded(Clients));
        const int action = int(random.bounded(10));
        if (action < 3) {
            // The client changes something, optimistically.
            Operation op;
            op.requestId = nextId++;
            op.stateIdentifier = "s";
            op.sent = true;
            if (random.bounded(4) == 0) {
                op.kind = Kind::Append;
                op.changes = QJsonObject{{"log", QJsonArray{int(op.requestId)}}};
            } else {
                op.kind = Kind::Update;
                const int count = 1 + int(random.bounded(2));
                for (int k = 0; k < count; ++k)
                    op.changes.insert(keys.at(random.bounded(3)), randomValue(1));
            }
            QVERIFY2(check(client, copies[client].addPending(op)), qPrintable(problem));
            toServer.push_back({client, op});
        } else if (action < 6 && !toServer.empty()) {
            // The server takes the next change: applies, rewrites or refuses it.
            Sent sent = toServer.front();
            toServer.pop_front();
            const int fate = int(random.bounded(10));
            QJsonObject changes = sent.operation.changes;
            if (fate == 0) {
                toClient[sent.client].push_back({sent.operation.kind,
                                                 {},
                                                 version,
                                                 sent.client,
                                                 sent.operation.requestId,
                                                 true});
                continue;
            }
            // A hook rewrites the update: adds to it, or replaces it with something else.
            if (fate == 1 && sent.operation.kind == Kind::Update)
                changes.insert("c", QStringLiteral("rewritten %1").arg(step));
            if (fate == 2 && sent.operation.kind == Kind::Update)
                changes = QJsonObject{{"b", QStringLiteral("replaced %1").arg(step)}};
            if (sent.operation.kind == Kind::Append) {
                if (!QStateSyncMerge::applyAppend(server, changes)) {
                    toClient[sent.client].push_back({sent.operation.kind,
                                                     {},
                                                     version,
                                                     sent.client,
                                                     sent.operation.requestId,
                                                     true});
                    continue;
                }
            } else {
                QStateSyncMerge::apply(server, changes, mode);
            }
            ++version;
            for (int i = 0; i < Clients; ++i) {
                toClient[i].push_back({sent.operation.kind, changes, version, sent.client,
                                       i == sent.client ? sent.operation.requestId : -1, false});
            }
        } else if (action < 9 && !toClient[client].empty()) {
            const Message message = toClient[client].front();
            toClient[client].pop_front();
            Diff diff;
            if (message.refused) {
                diff = copies[client].removePending(message.requestId);
            } else {
                QVERIFY(copies[client].applyServerChange(message.kind, message.changes,
                                                         message.version, ids(message.requestId),
                                                         &diff));
            }
            QVERIFY2(check(client, diff), qPrintable(problem));
        } else if (action == 9) {
            // A resync, as the client does it: what arrives before the whole value is
            // looked at only for this client's own answers (a refusal rolls back, an
            // acknowledgement marks the change as included in the value to come), then
            // the whole value as the server has it now replaces the copy.
            QStateSyncLocalCopy &copy = copies[client];
            while (!toClient[client].empty()) {
                const Message message = toClient[client].front();
                toClient[client].pop_front();
                if (message.refused) {
                    QVERIFY2(check(client, copy.removePending(message.requestId)),
                             qPrintable(problem));
                } else if (message.requestId >= 0) {
                    if (Operation *own = copy.findPending(message.requestId))
                        own->acknowledged = true;
                }
            }
            QVERIFY2(check(client, copy.reset("s", server, version)), qPrintable(problem));
        }
    }
    // Deliver everything.
    while (!toServer.empty()
           || std::any_of(toClient.cbegin(), toClient.cend(),
                          [](const auto &queue) { return !queue.empty(); })) {
        if (!toServer.empty()) {
            const Sent sent = toServer.front();
            toServer.pop_front();
            if (sent.operation.kind == Kind::Append
                && !QStateSyncMerge::applyAppend(server, sent.operation.changes)) {
                toClient[sent.client].push_back({sent.operation.kind,
                                                 {},
                                                 version,
                                                 sent.client,
                                                 sent.operation.requestId,
                                                 true});
                continue;
            }
            if (sent.operation.kind == Kind::Update)
                QStateSyncMerge::apply(server, sent.operation.changes, mode);
            ++version;
            for (int i = 0; i < Clients; ++i) {
                toClient[i].push_back({sent.operation.kind, sent.operation.changes, version,
                                       sent.client,
                                       i == sent.client ? sent.operation.requestId : -1, false});
            }
            continue;
        }
        for (int i = 0; i < Clients; ++i) {
            while (!toClient[i].empty()) {
                const Message message = toClient[i].front();
                toClient[i].pop_front();
                Diff diff;
                if (message.refused)
                    diff = copies[i].removePending(message.requestId);
                else
                    QVERIFY(copies[i].applyServerChange(message.kind, message.changes,
                                                        message.version, ids(message.requestId),
                                                        &diff));
                QVERIFY2(check(i, diff), qPrintable(problem));
            }
        }
    }
    for (int i = 0; i < Clients; ++i) {
        QVERIFY2(copies[i].pending().isEmpty(), qPrintable(QString::number(i)));
        QCOMPARE(copies[i].version(), version);
        QCOMPARE(text(copies[i].serverValue()), text(server));
        QCOMPARE(text(copies[i].value()), text(server));
        QCOMPARE(text(views[i].value), text(server));
    }
}

QTEST_APPLESS_MAIN(tst_LocalCopy)
#include "tst_localcopy.moc"
