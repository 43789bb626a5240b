// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The client on a network that fails: reconnection with backoff, the queue of updates made
// while away, optimistic updates and their rollback, several endpoints, the heartbeat.

#include "faultproxy.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncAuthorizationRequest>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qelapsedtimer.h>
#include <QtQml/qqmlpropertymap.h>
#include <QtWebSockets/qwebsocketserver.h>
#include <QtTest/qtest.h>

using namespace TestSupport;
using QStateSync::Error;

namespace {
using Call = std::pair<QVariantMap, QVariantMap>;

// A client that reconnects quickly, so the tests do not wait for production delays.
std::unique_ptr<QStateSyncClient> quickClient(const QUrl &url, const QString &identifier)
{
    auto client = std::make_unique<QStateSyncClient>(url, identifier);
    client->setReconnectDelay(20);
    client->setMaxReconnectDelay(200);
    return client;
}

bool joinAndWait(QStateSyncClient &client, const QString &state)
{
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState(state);
    return joined.wait(Timeout);
}
} // namespace

class tst_ClientReliability : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void reconnectsAfterTheServerRestartsAndResyncs();
    void listenersHearExactlyWhatChangedWhileAway();
    void updatesMadeWhileAwayAreQueuedAndSentAfterTheRejoin();
    void theQueueIsBoundedAndOverflowIsReported();
    void queuedUpdatesFailWhenTheClientGivesUp();
    void inFlightUpdateAtALossIsReportedAndRolledBack();
    void autoReconnectOffStopsAtTheFirstLoss();
    void backoffGrowsAndIsCapped();
    void unauthorizedIsNotRetried();
    void refusedUpdateIsRolledBack();
    void modifiedUpdateIsCorrectedToTheServersValue();
    void pessimisticClientShowsOnlyWhatTheServerSent();
    void concurrentOptimisticUpdatesConverge();
    void movesToTheNextEndpointWhenOneIsDown();
    void heartbeatFindsADeadServer();
    void closeDuringReconnectStopsAndFailsTheQueue();
    void conflatedCatchUpsAndSnapshotsAcknowledgeWhatTheyInclude();
};

void tst_ClientReliability::reconnectsAfterTheServerRestartsAndResyncs()
{
    auto server = startServer();
    const quint16 port = server->serverPort();
    createState(*server, "s", QJsonObject{{"a", 1}});
    auto client = quickClient(urlOf(*server), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    QCOMPARE(client->version(), 0);

    QSignalSpy statuses(client.get(), &QStateSyncClient::statusChanged);
    QSignalSpy disconnected(client.get(), &QStateSyncClient::disconnected);
    server.reset();
    QVERIFY(disconnected.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Reconnecting);
    QTRY_VERIFY_WITH_TIMEOUT(client->reconnectAttempt() >= 2, Timeout);

    // The server comes back on the same port, with the state at another version.
    server = std::make_unique<QStateSyncer>();
    QVERIFY(server->listen(QHostAddress::LocalHost, port));
    createState(*server, "s", QJsonObject{{"a", 1}});
    QVERIFY(server->updateStateValue("s", QJsonObject{{"a", 2}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"b", 3}}));
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Joined);
    QCOMPARE(client->reconnectAttempt(), 0);
    QCOMPARE(client->version(), server->versionOfState("s"));
    QCOMPARE(client->jsonValue(), *server->valueOfState("s"));
    QCOMPARE(client->jsonServerValue(), *server->valueOfState("s"));
}

void tst_ClientReliability::listenersHearExactlyWhatChangedWhileAway()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s",
                QJsonObject{{"same", "x"},
                            {"changed", 1},
                            {"removed", true},
                            {"nested", QJsonObject{{"a", 1}, {"b", 2}}}});
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    QList<Call> heard;
    client->addStateUpdateListener("all",
                                   [&](const QVariantMap &updates, const QVariantMap &previous) {
                                       heard.append({updates, previous});
                                   });

    // Cut without a close frame; the server changes the state while the client is away.
    proxy.setRefusing(true);
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Reconnecting, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(server->clientsOfState("s").size(), 0, Timeout);
    QVERIFY(server->updateStateValue("s", QJsonObject{{"changed", 2}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"removed", QJsonValue::Null}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"added", "new"}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"nested", QJsonObject{{"b", 3}}}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"same", "y"}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"same", "x"}}));
    QVERIFY(heard.isEmpty());

    proxy.setRefusing(false);
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(heard.size(), 1);
    const QVariantMap updates = heard.at(0).first;
    const QVariantMap previous = heard.at(0).second;
    // "same" changed twice and came back: nothing to tell.
    QCOMPARE(QStringList(updates.keys()), QStringList({"added", "changed", "nested", "removed"}));
    QCOMPARE(updates.value("changed").toInt(), 2);
    QCOMPARE(previous.value("changed").toInt(), 1);
    QVERIFY(!updates.value("removed").isValid());
    QCOMPARE(previous.value("removed").toBool(), true);
    QCOMPARE(updates.value("added").toString(), QStringLiteral("new"));
    QVERIFY(!previous.value("added").isValid());
    QCOMPARE(updates.value("nested").toMap(), QVariantMap({{"a", 1}, {"b", 3}}));
    QCOMPARE(previous.value("nested").toMap(), QVariantMap({{"a", 1}, {"b", 2}}));
    QCOMPARE(client->version(), 6);
    QCOMPARE(client->jsonValue(), *server->valueOfState("s"));
    QVERIFY(!client->state()->value("removed").isValid());
    QCOMPARE(client->state()->value("changed").toInt(), 2);
}

void tst_ClientReliability::updatesMadeWhileAwayAreQueuedAndSentAfterTheRejoin()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s", QJsonObject{{"list", QJsonArray{1}}});
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));

    proxy.setRefusing(true);
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Reconnecting, Timeout);
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 first = client->updateState(QJsonObject{{"title", "offline"}});
    const qint64 second = client->append("list", QJsonArray{2, 3});
    QVERIFY(first > 0);
    QVERIFY(second > first);
    QCOMPARE(client->pendingUpdates(), 2);
    // Shown at once, while the server has not seen them.
    QCOMPARE(client->value().value("title").toString(), QStringLiteral("offline"));
    QCOMPARE(client->jsonValue().value("list").toArray(), QJsonArray({1, 2, 3}));
    QVERIFY(!server->valueOfState("s")->contains("title"));
    // Meanwhile another client appends too.
    QVERIFY(server->appendToState("s", QJsonObject{{"list", QJsonArray{9}}}));

    proxy.setRefusing(false);
    QTRY_COMPARE_WITH_TIMEOUT(acknowledged.count(), 2, Timeout);
    QCOMPARE(acknowledged.at(0).at(0).toLongLong(), first);
    QCOMPARE(acknowledged.at(1).at(0).toLongLong(), second);
    QCOMPARE(failed.count(), 0);
    QCOMPARE(client->pendingUpdates(), 0);
    const QJsonObject serverValue = *server->valueOfState("s");
    QCOMPARE(serverValue.value("list").toArray(), QJsonArray({1, 9, 2, 3}));
    QCOMPARE(serverValue.value("title").toString(), QStringLiteral("offline"));
    QCOMPARE(client->jsonValue(), serverValue);
    QCOMPARE(client->version(), server->versionOfState("s"));
}

void tst_ClientReliability::theQueueIsBoundedAndOverflowIsReported()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    auto client = quickClient(proxy.url(), "alice");
    client->setMaxQueuedUpdates(2);
    QCOMPARE(client->maxQueuedUpdates(), 2);
    QVERIFY(joinAndWait(*client, "s"));
    proxy.setRefusing(true);
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Reconnecting, Timeout);

    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    QVERIFY(client->updateState(QJsonObject{{"n", 1}}) > 0);
    QVERIFY(client->updateState(QJsonObject{{"n", 2}}) > 0);
    QCOMPARE(client->updateState(QJsonObject{{"n", 3}}), -1);
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::QueueFull);
    QCOMPARE(client->error(), Error::QueueFull);
    QCOMPARE(client->value().value("n").toInt(), 2);

    proxy.setRefusing(false);
    QTRY_COMPARE_WITH_TIMEOUT(client->pendingUpdates(), 0, Timeout);
    QCOMPARE(server->valueOfState("s")->value("n").toInt(), 2);
    QCOMPARE(server->versionOfState("s"), 2);
}

void tst_ClientReliability::queuedUpdatesFailWhenTheClientGivesUp()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    proxy.setRefusing(true);
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Reconnecting, Timeout);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 id = client->updateState(QJsonObject{{"n", 1}});
    QVERIFY(id > 0);
    // Leaving calls off the rejoin: what waited for it is reported, not dropped silently.
    client->leaveState();
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::NotJoined);
    QCOMPARE(client->pendingUpdates(), 0);
    QVERIFY(!client->value().contains("n"));
}

void tst_ClientReliability::inFlightUpdateAtALossIsReportedAndRolledBack()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s", QJsonObject{{"n", 0}});
    // The update reaches the server, which holds it, and then the network goes.
    QList<QPointer<QStateSyncUpdateRequest>> held;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                request->defer();
                held.append(request);
            });
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QList<Call> heard;
    client->addStateUpdateListener("all",
                                   [&](const QVariantMap &updates, const QVariantMap &previous) {
                                       heard.append({updates, previous});
                                   });
    const qint64 id = client->updateState(QJsonObject{{"n", 1}});
    QCOMPARE(heard.size(), 1); // shown at once
    QTRY_COMPARE_WITH_TIMEOUT(held.size(), 1, Timeout);
    proxy.cutAll();
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::ConnectionLost);
    // Rolled back until the server says otherwise.
    QCOMPARE(heard.size(), 2);
    QCOMPARE(heard.at(1).first.value("n").toInt(), 0);
    QCOMPARE(heard.at(1).second.value("n").toInt(), 1);

    // The server applies it after all: the rejoin shows it.
    QVERIFY(held.at(0));
    held.at(0)->accept();
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client->value().value("n").toInt(), 1);
    QCOMPARE(client->jsonValue(), *server->valueOfState("s"));
    QCOMPARE(heard.size(), 3);
}

void tst_ClientReliability::autoReconnectOffStopsAtTheFirstLoss()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    auto client = quickClient(proxy.url(), "alice");
    client->setAutoReconnect(false);
    QVERIFY(joinAndWait(*client, "s"));
    QSignalSpy disconnected(client.get(), &QStateSyncClient::disconnected);
    const int accepted = proxy.acceptedCount();
    proxy.cutAll();
    QVERIFY(disconnected.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
    QCOMPARE(client->updateState(QJsonObject{{"n", 1}}), -1);
    QCOMPARE(client->error(), Error::NotConnected);
    // Nothing tries again: a new connection would show at the proxy.
    QSignalSpy statuses(client.get(), &QStateSyncClient::statusChanged);
    QVERIFY(!statuses.wait(300));
    QCOMPARE(proxy.acceptedCount(), accepted);
}

void tst_ClientReliability::backoffGrowsAndIsCapped()
{
    // Nothing listens behind the proxy's refusals: each attempt fails at once, so the time
    // between attempts is the backoff. Timers never fire early, so the lower bounds hold
    // on any machine: each wait is at least half its step (the rest is jitter).
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    auto client = quickClient(proxy.url(), "alice");
    client->setReconnectDelay(40);
    client->setMaxReconnectDelay(160);
    QVERIFY(joinAndWait(*client, "s"));
    proxy.setRefusing(true);
    QList<qint64> attemptsAt;
    QElapsedTimer clock;
    clock.start();
    connect(client.get(), &QStateSyncClient::statusChanged, this, [&] {
        if (client->status() == QStateSyncClient::Reconnecting)
            attemptsAt.append(clock.elapsed());
    });
    connect(client.get(), &QStateSyncClient::reconnectAttemptChanged, this,
            [&] { attemptsAt.append(clock.elapsed()); });
    proxy.cutAll();
    QTRY_VERIFY_WITH_TIMEOUT(client->reconnectAttempt() >= 6, Timeout);
    // Steps after the loss: 40 (first try), then rounds that failed: 80, 160, 160, 160.
    QList<qint64> times;
    for (qint64 t : std::as_const(attemptsAt)) {
        if (times.isEmpty() || times.last() != t)
            times.append(t);
    }
    const QList<int> minimum{20, 40, 80, 80, 80};
    QVERIFY2(times.size() >= 6, qPrintable(QString::number(times.size())));
    for (int i = 0; i < minimum.size(); ++i) {
        const qint64 gap = times.at(i + 1) - times.at(i);
        QVERIFY2(gap >= minimum.at(i) - 2,
                 qPrintable(QStringLiteral("gap %1 was %2 ms").arg(i).arg(gap)));
    }
    QCOMPARE(client->status(), QStateSyncClient::Reconnecting);
    proxy.setRefusing(false);
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client->reconnectAttempt(), 0);
}

void tst_ClientReliability::unauthorizedIsNotRetried()
{
    auto server = startServer();
    createState(*server, "s");
    bool allow = true;
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                if (allow)
                    request->accept();
                else
                    request->reject();
            });
    FaultProxy proxy(server->serverPort());
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    allow = false;
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Error, Timeout);
    QCOMPARE(client->error(), Error::Unauthorized);
    const int accepted = proxy.acceptedCount();
    QSignalSpy statuses(client.get(), &QStateSyncClient::statusChanged);
    QVERIFY(!statuses.wait(300));
    QCOMPARE(proxy.acceptedCount(), accepted);
}

void tst_ClientReliability::refusedUpdateIsRolledBack()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"title", "before"}});
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [](QStateSyncUpdateRequest *request) {
                if (request->updates().value("title") == QJsonValue("forbidden"))
                    request->reject(QStringLiteral("no"));
            });
    auto client = joinedClient(*server, "alice", "s");
    QList<Call> heard;
    client->addStateUpdateListener("all",
                                   [&](const QVariantMap &updates, const QVariantMap &previous) {
                                       heard.append({updates, previous});
                                   });
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 id = client->updateState(QJsonObject{{"title", "forbidden"}});
    QCOMPARE(client->state()->value("title").toString(), QStringLiteral("forbidden"));
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::UpdateRefused);
    QCOMPARE(client->state()->value("title").toString(), QStringLiteral("before"));
    QCOMPARE(client->jsonValue(), *server->valueOfState("s"));
    QCOMPARE(heard.size(), 2);
    QCOMPARE(heard.at(1).first, QVariantMap({{"title", "before"}}));
    QCOMPARE(heard.at(1).second, QVariantMap({{"title", "forbidden"}}));
    QCOMPARE(client->pendingUpdates(), 0);
}

void tst_ClientReliability::modifiedUpdateIsCorrectedToTheServersValue()
{
    auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInterceptStateUpdate(
            [](const QJsonObject &updates, const QVariantMap &) -> std::optional<QJsonObject> {
                QJsonObject changed = updates;
                changed.insert("title", updates.value("title").toString().toUpper());
                return changed;
            });
    server->createState(options);
    auto client = joinedClient(*server, "alice", "s");
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    QList<Call> heard;
    client->addStateUpdateListener("all",
                                   [&](const QVariantMap &updates, const QVariantMap &previous) {
                                       heard.append({updates, previous});
                                   });
    client->updateState(QJsonObject{{"title", "quiet"}});
    QCOMPARE(client->value().value("title").toString(), QStringLiteral("quiet"));
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(client->value().value("title").toString(), QStringLiteral("QUIET"));
    QCOMPARE(heard.size(), 2);
    QCOMPARE(heard.at(1).first, QVariantMap({{"title", "QUIET"}}));
    QCOMPARE(heard.at(1).second, QVariantMap({{"title", "quiet"}}));
    QCOMPARE(client->jsonValue(), *server->valueOfState("s"));
}

void tst_ClientReliability::pessimisticClientShowsOnlyWhatTheServerSent()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"title", "before"}});
    auto client = joinedClient(*server, "alice", "s");
    QSignalSpy changed(client.get(), &QStateSyncClient::optimisticUpdatesChanged);
    client->setOptimisticUpdates(false);
    QCOMPARE(changed.count(), 1);
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QJsonObject{{"title", "after"}});
    QCOMPARE(client->value().value("title").toString(), QStringLiteral("before"));
    QCOMPARE(client->pendingUpdates(), 1);
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(client->value().value("title").toString(), QStringLiteral("after"));
}

void tst_ClientReliability::concurrentOptimisticUpdatesConverge()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"doc", QJsonObject{{"a", 0}}}});
    auto alice = joinedClient(*server, "alice", "s");
    auto bob = joinedClient(*server, "bob", "s");
    for (int i = 1; i <= 20; ++i) {
        alice->updateState(QJsonObject{{"doc", QJsonObject{{"a", i}, {"b", i}}}});
        bob->updateState(QJsonObject{{"doc", QJsonObject{{"a", -i}, {"c", i}}}});
        bob->append("log", QJsonArray{i});
    }
    QTRY_VERIFY_WITH_TIMEOUT(alice->pendingUpdates() == 0 && bob->pendingUpdates() == 0
                                     && alice->version() == server->versionOfState("s")
                                     && bob->version() == server->versionOfState("s"),
                             Timeout);
    const QJsonObject value = *server->valueOfState("s");
    QCOMPARE(alice->jsonValue(), value);
    QCOMPARE(bob->jsonValue(), value);
    QCOMPARE(value.value("log").toArray().size(), 20);
}

void tst_ClientReliability::movesToTheNextEndpointWhenOneIsDown()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"n", 1}});
    FaultProxy down(server->serverPort());
    down.setRefusing(true);
    FaultProxy up(server->serverPort());
    auto client = quickClient(QUrl(), "alice");
    QSignalSpy urlsChanged(client.get(), &QStateSyncClient::urlsChanged);
    client->setUrls({down.url(), up.url()});
    QCOMPARE(urlsChanged.count(), 1);
    QCOMPARE(client->url(), down.url());
    QVERIFY(joinAndWait(*client, "s"));
    QCOMPARE(client->currentUrl(), up.url());
    QVERIFY(down.acceptedCount() >= 1);

    // Now the other way round: the endpoint in use goes down, the first comes back.
    down.setRefusing(false);
    up.setRefusing(true);
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    up.cutAll();
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client->currentUrl(), down.url());
    QCOMPARE(client->value().value("n").toInt(), 1);
}

void tst_ClientReliability::heartbeatFindsADeadServer()
{
    auto server = startServer();
    createState(*server, "s");
    FaultProxy proxy(server->serverPort());
    auto client = quickClient(proxy.url(), "alice");
    client->setHeartbeatInterval(100);
    QCOMPARE(client->heartbeatInterval(), 100);
    QVERIFY(joinAndWait(*client, "s"));
    // Pings are answered: the connection stays up for several intervals.
    QSignalSpy disconnected(client.get(), &QStateSyncClient::disconnected);
    QVERIFY(!disconnected.wait(500));

    // The route dies silently: no close, no reset, nothing arrives any more.
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    proxy.freezeAll();
    QVERIFY(disconnected.wait(Timeout));
    QCOMPARE(client->error(), Error::ConnectionLost);
    QVERIFY2(client->errorString().contains("did not answer"), qPrintable(client->errorString()));
    // It comes back over a new connection.
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Joined);
}

void tst_ClientReliability::closeDuringReconnectStopsAndFailsTheQueue()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    proxy.setRefusing(true);
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Reconnecting, Timeout);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QVERIFY(client->updateState(QJsonObject{{"n", 1}}) > 0);
    client->close();
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
    QCOMPARE(failed.count(), 1);
    QCOMPARE(client->pendingUpdates(), 0);
    const int accepted = proxy.acceptedCount();
    proxy.setRefusing(false);
    QSignalSpy statuses(client.get(), &QStateSyncClient::statusChanged);
    QVERIFY(!statuses.wait(300));
    QCOMPARE(proxy.acceptedCount(), accepted);
}

// A server that fell behind with this client sends one conflated message (or a whole new
// value) that lists the client's own requests it includes: they count as acknowledged,
// and the version jump is not a gap.
void tst_ClientReliability::conflatedCatchUpsAndSnapshotsAcknowledgeWhatTheyInclude()
{
    QWebSocketServer scripted(QStringLiteral("scripted"), QWebSocketServer::NonSecureMode);
    scripted.setSupportedSubprotocols({QStringLiteral("qstatesync.v2")});
    QVERIFY(scripted.listen(QHostAddress::LocalHost, 0));
    QList<QJsonObject> fromClient;
    QWebSocket *peer = nullptr;
    connect(&scripted, &QWebSocketServer::newConnection, this, [&] {
        peer = scripted.nextPendingConnection();
        peer->setParent(&scripted);
        connect(peer, &QWebSocket::textMessageReceived, this,
                [&](const QString &text) { fromClient.append(parse(text)); });
    });
    const auto sendToClient = [&](int type, const QJsonObject &data) {
        peer->sendTextMessage(compact(QJsonObject{{"type", type}, {"data", data}}));
    };
    QStateSyncClient client(QUrl(QStringLiteral("ws://127.0.0.1:%1").arg(scripted.serverPort())),
                            "alice");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    QSignalSpy acknowledged(&client, &QStateSyncClient::updateAcknowledged);
    QList<Call> heard;
    client.addStateUpdateListener("all",
                                  [&](const QVariantMap &updates, const QVariantMap &previous) {
                                      heard.append({updates, previous});
                                  });
    client.connectToState("s");
    QTRY_COMPARE(fromClient.size(), 1);
    sendToClient(7,
                 QJsonObject{{"state", QJsonObject{{"n", 0}, {"doc", QJsonObject{{"a", 1}}}}},
                             {"stateIdentifier", "s"},
                             {"version", 1}});
    QVERIFY(joined.wait(Timeout));

    const qint64 first = client.updateState(QJsonObject{{"n", 1}});
    const qint64 second = client.updateState(QJsonObject{{"doc", QJsonObject{{"b", 2}}}});
    QTRY_COMPARE(fromClient.size(), 3);
    QCOMPARE(heard.size(), 2);
    // Versions 2 to 9 in one message: others' changes and both of the client's.
    sendToClient(3,
                 QJsonObject{{"conflated", true},
                             {"requestIds", QJsonArray{first, second}},
                             {"updates",
                              QJsonObject{{"n", 1},
                                          {"doc", QJsonObject{{"b", 2}, {"c", 3}}},
                                          {"other", true}}},
                             {"version", 9}});
    QTRY_COMPARE(acknowledged.count(), 2);
    QCOMPARE(acknowledged.at(0).at(0).toLongLong(), first);
    QCOMPARE(acknowledged.at(1).at(0).toLongLong(), second);
    QCOMPARE(acknowledged.at(1).at(1).toLongLong(), 9);
    QCOMPARE(client.version(), 9);
    QCOMPARE(client.pendingUpdates(), 0);
    QCOMPARE(fromClient.size(), 3); // no resync asked for
    const QJsonObject expected{
            {"n", 1}, {"doc", QJsonObject{{"a", 1}, {"b", 2}, {"c", 3}}}, {"other", true}};
    QCOMPARE(client.jsonValue(), expected);
    QCOMPARE(client.jsonServerValue(), expected);
    // Only what the client did not show yet is heard.
    QCOMPARE(heard.size(), 3);
    QCOMPARE(QStringList(heard.at(2).first.keys()), QStringList({"doc", "other"}));

    // A whole new value in place of a catch-up lists them too.
    const qint64 third = client.append("log", QJsonArray{"x"});
    QTRY_COMPARE(fromClient.size(), 4);
    QCOMPARE(client.jsonValue().value("log").toArray(), QJsonArray({"x"}));
    QJsonObject snapshot = expected;
    snapshot.insert("log", QJsonArray{"y", "x"});
    sendToClient(7,
                 QJsonObject{{"state", snapshot},
                             {"stateIdentifier", "s"},
                             {"version", 14},
                             {"requestIds", QJsonArray{third}}});
    QTRY_COMPARE(acknowledged.count(), 3);
    QCOMPARE(acknowledged.at(2).at(0).toLongLong(), third);
    QCOMPARE(client.pendingUpdates(), 0);
    QCOMPARE(client.version(), 14);
    // Shown once, not twice: the snapshot includes the append.
    QCOMPARE(client.jsonValue(), snapshot);
    QCOMPARE(joined.count(), 1);
}

QTEST_MAIN(tst_ClientReliability)
#include "tst_clientreliability.moc"
