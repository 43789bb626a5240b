// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// State threads (QStateSyncer::stateThreads): the changes of states no hook watches are
// merged and encoded on worker threads, a batch per state at a time. Each state keeps one
// order, seen alike by every client and by stateUpdated(); server-side changes apply
// within the call; hooks see the current value; refusals reach their sender in order; a
// state removed, or a server destroyed, while batches run is safe; the number of threads
// can change at any time. The server suites also run whole with state threads (the
// *_statethreads tests).

#include "qstatesyncstatethreads_p.h"
#include "testsupport.h"

#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <QtCore/qeventloop.h>
#include <QtCore/qtimer.h>

using namespace TestSupport;

namespace {
constexpr int StateAppended = 22;
constexpr int StateUpdateFailed = 9;
constexpr int StateRemoved = 24;

// Every item of list, as integers.
QList<int> itemsOf(const QJsonValue &list)
{
    QList<int> items;
    for (const QJsonValue &item : list.toArray())
        items.append(item.toInt());
    return items;
}

QList<int> oneTo(int count)
{
    QList<int> items;
    for (int i = 1; i <= count; ++i)
        items.append(i);
    return items;
}

// A server with state threads, whose stateUpdated() versions are recorded per state.
struct ThreadedServer
{
    explicit ThreadedServer(int threads = 2)
        : server(startServer())
    {
        server->setStateThreads(threads);
        server->setUpdateRate(0); // the clients here send faster than a person would
        QObject::connect(server.get(), &QStateSyncer::stateUpdated, server.get(),
                         [this](const QString &state, const QJsonObject &, qint64 version) {
                             versions[state].append(version);
                         });
    }
    // Each state's signals came once per version, in order, from 1.
    bool signalledInOrder(const QString &state) const
    {
        const QList<qint64> seen = versions.value(state);
        for (qsizetype i = 0; i < seen.size(); ++i) {
            if (seen.at(i) != i + 1)
                return false;
        }
        return true;
    }

    std::unique_ptr<QStateSyncer> server;
    QHash<QString, QList<qint64>> versions;
};
} // namespace

class tst_StateThreads : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // A test that failed while it held the state threads lets them go.
    void cleanup() { QStateSyncStateThreads::holdJobs(false); }

    void manyStatesConvergeInOneOrder();
    void serverSideChangesApplyWithinTheCall();
    void hooksSeeTheCurrentValue();
    void refusalsReachTheirSenderInOrder();
    void removingAStateWhileItsBatchRunsIsSafe();
    void destroyingTheServerWhileBatchesRunIsSafe();
    void changingTheNumberOfThreadsKeepsTheOrder();
    void aHandlerRunningAnEventLoopKeepsTheOrder();
};

void tst_StateThreads::manyStatesConvergeInOneOrder()
{
    constexpr int States = 12;
    constexpr int ClientsPerState = 3;
    constexpr int Items = 40;
    ThreadedServer threaded;
    QStateSyncer &server = *threaded.server;
    const quint64 jobsBefore = QStateSyncStateThreads::jobsRun();

    std::vector<std::unique_ptr<QStateSyncClient>> clients;
    int acknowledged = 0;
    for (int s = 0; s < States; ++s) {
        const QString state = QStringLiteral("s%1").arg(s);
        createState(server, state, {},
                    s % 2 ? QStateSync::MergeMode::Deep : QStateSync::MergeMode::Shallow);
        for (int c = 0; c < ClientsPerState; ++c) {
            clients.push_back(
                    joinedClient(server, QStringLiteral("%1-c%2").arg(state).arg(c), state));
            QCOMPARE(clients.back()->status(), QStateSyncClient::Joined);
            connect(clients.back().get(), &QStateSyncClient::updateAcknowledged, this,
                    [&acknowledged] { ++acknowledged; });
        }
    }
    // Every client appends 1 to Items to a list of its own, and writes the shared key.
    int sent = 0;
    for (int i = 1; i <= Items; ++i) {
        for (size_t c = 0; c < clients.size(); ++c) {
            clients[c]->append(QStringLiteral("c%1").arg(c % ClientsPerState), QJsonArray{i});
            clients[c]->updateState(QJsonObject{{"last", int(c)}, {"n", i}});
            sent += 2;
        }
    }
    QTRY_COMPARE_WITH_TIMEOUT(acknowledged, sent, 3 * Timeout);

    const qint64 perState = 2 * Items * ClientsPerState;
    for (int s = 0; s < States; ++s) {
        const QString state = QStringLiteral("s%1").arg(s);
        QCOMPARE(server.versionOfState(state), perState);
        const QJsonObject value = *server.valueOfState(state);
        for (int c = 0; c < ClientsPerState; ++c)
            QCOMPARE(itemsOf(value.value(QStringLiteral("c%1").arg(c))), oneTo(Items));
        QCOMPARE(value.value("n").toInt(), Items);
        QVERIFY2(threaded.signalledInOrder(state), qPrintable(state));
        QCOMPARE(threaded.versions.value(state).size(), perState);
        for (int c = 0; c < ClientsPerState; ++c) {
            const auto &client = clients[s * ClientsPerState + c];
            QTRY_COMPARE(client->version(), perState);
            QCOMPARE(client->jsonValue(), value);
        }
    }
    // The batches ran on the state threads.
    QVERIFY(QStateSyncStateThreads::jobsRun() > jobsBefore);
    QCOMPARE(server.updatesApplied(), quint64(sent));
}

// Holds the state threads, then client appends first to last to "list"; true once a batch
// of them is on a thread (held: the test releases it, or cleanup() does).
bool appendWhileHeld(RawClient &client, int first, int last)
{
    QStateSyncStateThreads::holdJobs(true);
    const quint64 posted = QStateSyncStateThreads::jobsPosted();
    for (int i = first; i <= last; ++i)
        client.append(QJsonObject{{"list", QJsonArray{i}}});
    return QTest::qWaitFor([posted] { return QStateSyncStateThreads::jobsPosted() > posted; },
                           Timeout);
}

// Opens a writer and a watcher, and joins both to "s".
bool joinWriterAndWatcher(QStateSyncer &server, RawClient &writer, RawClient &watcher)
{
    if (!writer.open(urlOf(server), "writer") || !watcher.open(urlOf(server), "watcher"))
        return false;
    return !writer.joinAndWait("s").isEmpty() && !watcher.joinAndWait("s").isEmpty();
}

// Waits until client received the broadcast of version last, then takes every broadcast
// it received and gives their versions, in order.
QList<int> versionsUpTo(RawClient &client, int last)
{
    client.waitUntil([&] {
        return !client.received.isEmpty()
                && client.received.last().value("data").toObject().value("version").toInt() == last;
    });
    QList<int> versions;
    for (const QJsonObject &message : std::as_const(client.received)) {
        const int type = message.value("type").toInt();
        if (type == StateAppended || type == 3)
            versions.append(message.value("data").toObject().value("version").toInt());
    }
    client.received.clear();
    return versions;
}

void tst_StateThreads::serverSideChangesApplyWithinTheCall()
{
    ThreadedServer threaded;
    QStateSyncer &server = *threaded.server;
    createState(server, "s");
    RawClient client;
    RawClient watcher;
    QVERIFY(joinWriterAndWatcher(server, client, watcher));
    constexpr int Items = 200;

    // The client's first half is certainly on a state thread when the server appends.
    QVERIFY(appendWhileHeld(client, 1, Items / 2));
    const qsizetype signalledBefore = threaded.versions.value("s").size();
    QVERIFY(server.appendToState("s", QJsonObject{{"list", QJsonArray{-1}}}));
    // Applied within the call, after every change of the client that the server had
    // received: those were applied, and signalled, first.
    const QList<int> atTheCall = itemsOf(server.valueOfState("s")->value("list"));
    QVERIFY(atTheCall.size() > signalledBefore + 1);
    QCOMPARE(atTheCall.last(), -1);
    QCOMPARE(server.versionOfState("s"), atTheCall.size());
    QCOMPARE(threaded.versions.value("s").size(), atTheCall.size());
    QStateSyncStateThreads::holdJobs(false);

    // A handler of stateUpdated() that changes the state from the server side, while the
    // batch of the change it heard of is being signalled: its change comes after the
    // batch, and clients see one gapless order.
    bool changedFromHandler = false;
    connect(&server, &QStateSyncer::stateUpdated, this,
            [&](const QString &, const QJsonObject &, qint64 version) {
                if (!changedFromHandler && version > atTheCall.size() + 10) {
                    changedFromHandler = true;
                    QVERIFY(server.appendToState("s", QJsonObject{{"list", QJsonArray{-2}}}));
                }
            });
    for (int i = Items / 2 + 1; i <= Items; ++i)
        client.append(QJsonObject{{"list", QJsonArray{i}}});
    QTRY_COMPARE(server.versionOfState("s"), Items + 2);
    QVERIFY(changedFromHandler);
    const QList<int> list = itemsOf(server.valueOfState("s")->value("list"));
    QList<int> clientItems = list;
    clientItems.removeAll(-1);
    clientItems.removeAll(-2);
    QCOMPARE(clientItems, oneTo(Items));
    QCOMPARE(list.indexOf(-1), atTheCall.size() - 1);
    // The handler's change came after the change it heard of.
    QVERIFY(list.indexOf(-2) >= atTheCall.size() + 10);
    QVERIFY(threaded.signalledInOrder("s"));
    QCOMPARE(versionsUpTo(watcher, Items + 2), oneTo(Items + 2));
}

void tst_StateThreads::hooksSeeTheCurrentValue()
{
    ThreadedServer threaded;
    QStateSyncer &server = *threaded.server;
    createState(server, "s");
    RawClient client;
    QVERIFY(client.open(urlOf(server), "writer"));
    client.joinAndWait("s");
    const quint64 messagesBefore = server.messagesReceived();
    constexpr int Items = 300;

    // The first half is on a state thread when a hook starts to watch the state.
    QVERIFY(appendWhileHeld(client, 1, Items / 2));

    // From now on the hook must see every change before it is applied, with the value
    // of every change before it applied.
    int hooked = 0;
    int inconsistent = 0;
    const auto hook = connect(
            &server, &QStateSyncer::updateRequested, this, [&](QStateSyncUpdateRequest *request) {
                const QList<int> list = itemsOf(server.valueOfState("s")->value("list"));
                const int next = request->appends().value("list").toArray().first().toInt();
                if (list != oneTo(next - 1) || server.versionOfState("s") != next - 1) {
                    ++inconsistent;
                }
                ++hooked;
                request->accept();
            });
    for (int i = Items / 2 + 1; i <= Items; ++i)
        client.append(QJsonObject{{"list", QJsonArray{i}}});
    QTRY_COMPARE(server.messagesReceived(), messagesBefore + Items);
    // They wait for the batch on the thread.
    QCOMPARE(hooked, 0);
    QStateSyncStateThreads::holdJobs(false);
    QTRY_COMPARE(server.versionOfState("s"), Items);
    QCOMPARE(inconsistent, 0);
    // At least the changes sent after the hook was connected (some of the first half may
    // have come after it too).
    QVERIFY2(hooked >= Items - Items / 2, qPrintable(QString::number(hooked)));
    QCOMPARE(itemsOf(server.valueOfState("s")->value("list")), oneTo(Items));

    // Without the hook the state goes back to its thread.
    disconnect(hook);
    const quint64 jobsWithHook = QStateSyncStateThreads::jobsRun();
    client.append(QJsonObject{{"list", QJsonArray{Items + 1}}});
    QTRY_COMPARE(server.versionOfState("s"), Items + 1);
    QVERIFY(QStateSyncStateThreads::jobsRun() > jobsWithHook);
    QVERIFY(threaded.signalledInOrder("s"));
}

void tst_StateThreads::refusalsReachTheirSenderInOrder()
{
    ThreadedServer threaded;
    QStateSyncer &server = *threaded.server;
    server.setMaxStateSize(3000);
    createState(server, "s", QJsonObject{{"scalar", 1}});
    RawClient client;
    QVERIFY(client.open(urlOf(server), "writer"));
    client.joinAndWait("s");
    // 100 items of 50 bytes: some fit, then the state is full; every tenth goes to a key
    // that is not an array.
    constexpr int Requests = 100;
    for (int i = 1; i <= Requests; ++i) {
        if (i % 10 == 0)
            client.append(QJsonObject{{"scalar", QJsonArray{i}}}, i);
        else
            client.append(QJsonObject{{"list", QJsonArray{QString(50, u'x')}}}, i);
    }
    // Each request is answered once, in the order sent: an acknowledgement (the broadcast
    // with its request id) or a refusal.
    QList<int> answered;
    int acknowledgements = 0;
    QHash<QString, int> refusals;
    QVERIFY(client.waitUntil([&] {
        while (!client.received.isEmpty()) {
            const QJsonObject message = client.received.takeFirst();
            const QJsonObject data = message.value("data").toObject();
            if (!data.contains("requestId"))
                continue;
            answered.append(data.value("requestId").toInt());
            if (message.value("type").toInt() == StateUpdateFailed)
                ++refusals[data.value("code").toString()];
            else if (message.value("type").toInt() == StateAppended)
                ++acknowledgements;
            else
                ++refusals[QStringLiteral("unexpected")];
        }
        return answered.size() == Requests;
    }));
    QCOMPARE(answered, oneTo(Requests));
    QCOMPARE(refusals.value("unexpected"), 0);
    QCOMPARE(refusals.value("not_an_array"), Requests / 10);
    QVERIFY(refusals.value("state_too_large") > 0);
    QVERIFY(acknowledgements > 0);
    QCOMPARE(acknowledgements + refusals.value("not_an_array") + refusals.value("state_too_large"),
             Requests);
    QCOMPARE(server.versionOfState("s"), acknowledgements);
    QVERIFY(server.sizeOfState("s") <= 3000);
    QCOMPARE(server.valueOfState("s")->value("list").toArray().size(), acknowledgements);
    QCOMPARE(server.updatesRefused(), quint64(Requests - acknowledgements));
    QVERIFY(threaded.signalledInOrder("s"));
}

void tst_StateThreads::removingAStateWhileItsBatchRunsIsSafe()
{
    ThreadedServer threaded;
    QStateSyncer &server = *threaded.server;
    createState(server, "s");
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int c = 0; c < 3; ++c) {
        clients.push_back(std::make_unique<RawClient>());
        QVERIFY(clients.back()->open(urlOf(server), QStringLiteral("c%1").arg(c)));
        clients.back()->joinAndWait("s");
    }
    // Some changes are applied, the next batch is certainly on its thread at the removal.
    for (int i = 1; i <= 150; ++i)
        clients[i % 3]->append(QJsonObject{{"list", QJsonArray{i}}});
    QTRY_VERIFY(!threaded.versions.value("s").isEmpty());
    QStateSyncStateThreads::holdJobs(true);
    const quint64 posted = QStateSyncStateThreads::jobsPosted();
    for (int i = 151; i <= 300; ++i)
        clients[i % 3]->append(QJsonObject{{"list", QJsonArray{i}}});
    QTRY_VERIFY(QStateSyncStateThreads::jobsPosted() > posted);
    QVERIFY(server.removeState("s"));
    QStateSyncStateThreads::holdJobs(false);
    QVERIFY(!server.hasState("s"));
    const qsizetype signalledBeforeRemoval = threaded.versions.value("s").size();
    for (const auto &client : clients)
        QVERIFY(!client->take(StateRemoved).isEmpty());

    // A state of the same name starts from nothing; nothing of the old one reaches it.
    createState(server, "s");
    RawClient reader;
    QVERIFY(reader.open(urlOf(server), "reader"));
    const QJsonObject joined = reader.joinAndWait("s");
    QCOMPARE(joined.value("version").toInt(), 0);
    reader.append(QJsonObject{{"list", QJsonArray{-1}}}, "mine");
    QCOMPARE(reader.takeData(StateAppended).value("version").toInt(), 1);
    QCOMPARE(itemsOf(server.valueOfState("s")->value("list")), QList<int>{-1});
    QCOMPARE(threaded.versions.value("s").size(), signalledBeforeRemoval + 1);
    QCOMPARE(threaded.versions.value("s").last(), 1);
}

void tst_StateThreads::destroyingTheServerWhileBatchesRunIsSafe()
{
    ThreadedServer threaded;
    for (int s = 0; s < 8; ++s)
        createState(*threaded.server, QStringLiteral("s%1").arg(s));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int s = 0; s < 8; ++s) {
        clients.push_back(std::make_unique<RawClient>());
        QVERIFY(clients.back()->open(urlOf(*threaded.server), QStringLiteral("c%1").arg(s)));
        clients.back()->joinAndWait(QStringLiteral("s%1").arg(s));
    }
    QStateSyncStateThreads::holdJobs(true);
    const quint64 posted = QStateSyncStateThreads::jobsPosted();
    for (int i = 1; i <= 200; ++i) {
        for (const auto &client : clients)
            client->append(QJsonObject{{"list", QJsonArray{i}}});
    }
    // Batches of every state are on their threads, held, as the server goes.
    QTRY_VERIFY(QStateSyncStateThreads::jobsPosted() >= posted + 8);
    threaded.server.reset();
    QStateSyncStateThreads::holdJobs(false);
    for (const auto &client : clients)
        QVERIFY(client->waitForDisconnect());
}

void tst_StateThreads::changingTheNumberOfThreadsKeepsTheOrder()
{
    ThreadedServer threaded(1);
    QStateSyncer &server = *threaded.server;
    QSignalSpy changed(&server, &QStateSyncer::stateThreadsChanged);
    createState(server, "a");
    createState(server, "b");
    RawClient a;
    RawClient b;
    QVERIFY(a.open(urlOf(server), "a"));
    QVERIFY(b.open(urlOf(server), "b"));
    a.joinAndWait("a");
    b.joinAndWait("b");
    int sent = 0;
    const auto sendSome = [&] {
        for (int i = 0; i < 100; ++i) {
            ++sent;
            a.append(QJsonObject{{"list", QJsonArray{sent}}});
            b.append(QJsonObject{{"list", QJsonArray{sent}}});
        }
    };
    for (const int threads : {3, 0, 2, 0, 1}) {
        // Batches are on the threads (or waiting for them) when their number changes.
        QStateSyncStateThreads::holdJobs(true);
        const quint64 posted = QStateSyncStateThreads::jobsPosted();
        sendSome();
        if (server.stateThreads() > 0)
            QTRY_VERIFY(QStateSyncStateThreads::jobsPosted() > posted);
        else
            QTRY_VERIFY(threaded.versions.value("a").size() > sent - 100);
        server.setStateThreads(threads);
        QStateSyncStateThreads::holdJobs(false);
        QCOMPARE(server.stateThreads(), threads);
    }
    sendSome();
    QTRY_COMPARE(server.versionOfState("a"), sent);
    QTRY_COMPARE(server.versionOfState("b"), sent);
    QCOMPARE(itemsOf(server.valueOfState("a")->value("list")), oneTo(sent));
    QCOMPARE(itemsOf(server.valueOfState("b")->value("list")), oneTo(sent));
    QVERIFY(threaded.signalledInOrder("a"));
    QVERIFY(threaded.signalledInOrder("b"));
    QCOMPARE(changed.size(), 5);
    server.setStateThreads(1);
    QCOMPARE(changed.size(), 5); // the same value again changes nothing
}

void tst_StateThreads::aHandlerRunningAnEventLoopKeepsTheOrder()
{
    ThreadedServer threaded;
    QStateSyncer &server = *threaded.server;
    createState(server, "s");
    RawClient client;
    RawClient watcher;
    QVERIFY(joinWriterAndWatcher(server, client, watcher));
    const quint64 messagesBefore = server.messagesReceived();
    constexpr int Items = 100;
    for (int i = 1; i <= Items / 2; ++i)
        client.append(QJsonObject{{"list", QJsonArray{i}}});
    // The first handler call runs an event loop (as a dialog would) in which the second
    // half comes, is batched and would be applied, were it not for the batch being
    // signalled.
    bool nested = false;
    bool secondHalfCame = false;
    connect(&server, &QStateSyncer::stateUpdated, this, [&] {
        if (std::exchange(nested, true))
            return;
        for (int i = Items / 2 + 1; i <= Items; ++i)
            client.append(QJsonObject{{"list", QJsonArray{i}}});
        QEventLoop loop;
        QTimer poll;
        connect(&poll, &QTimer::timeout, &loop, [&] {
            if (server.messagesReceived() >= messagesBefore + Items) {
                secondHalfCame = true;
                loop.quit();
            }
        });
        QTimer::singleShot(Timeout, &loop, &QEventLoop::quit);
        poll.start(1);
        loop.exec();
    });
    QTRY_COMPARE(server.versionOfState("s"), Items);
    QVERIFY(secondHalfCame);
    QCOMPARE(itemsOf(server.valueOfState("s")->value("list")), oneTo(Items));
    QVERIFY(threaded.signalledInOrder("s"));
    QCOMPARE(versionsUpTo(watcher, Items), oneTo(Items));
}

QTEST_MAIN(tst_StateThreads)
#include "tst_statethreads.moc"
