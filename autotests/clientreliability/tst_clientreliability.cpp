// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The client on a network that fails: reconnection with backoff, the queue of updates made
// while away, optimistic updates and their rollback, several endpoints, the heartbeat.

#include "faultproxy.h"
#include "logcapture.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncAuthorizationRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qregularexpression.h>
#include <QtQml/qqmlpropertymap.h>
#include <QtNetwork/qtcpserver.h>
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

// Cuts the client's connection and lets no new one through: the client is Reconnecting.
bool cutOff(FaultProxy &proxy, QStateSyncClient &client)
{
    proxy.setRefusing(true);
    proxy.cutAll();
    return QTest::qWaitFor([&] { return client.status() == QStateSyncClient::Reconnecting; },
                           Timeout);
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
    void largeValuesArriveInFragments();
    void retryFromUpdateFailedAtALossIsQueued();
    void updateFromUpdateFailedInsideCloseIsRefused();
    void closeFromASlotDuringAJoinStaysClosed();
    void leavingWhileAJoinWaitsFailsWhatWaited();
    void resyncWaitsForAJoinToAnotherState_data();
    void resyncWaitsForAJoinToAnotherState();
    void silentEndpointTimesOutAndTheNextIsTried();
    void newTokenWhileAwayKeepsTheQueue();
    void v1AppendsInARowAreAllKept();
    void givingUpMakesTheClientInactive();
    void acknowledgementDuringAResyncComesWithTheNewValue();
    void resyncOfARemovedStateIsNotAJoinFailure();
};

void tst_ClientReliability::reconnectsAfterTheServerRestartsAndResyncs()
{
    auto server = startServer();
    const quint16 port = server->serverPort();
    createState(*server, "s", QJsonObject{{"a", 1}});
    auto client = quickClient(urlOf(*server), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    QCOMPARE(client->version(), 0);

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
    QVERIFY(cutOff(proxy, *client));
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

    QVERIFY(cutOff(proxy, *client));
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 first = client->updateState(QJsonObject{{"title", "offline"}});
    const qint64 second = client->append("list", QJsonArray{2, 3});
    QVERIFY(first > 0);
    QVERIFY(second > first);
    QCOMPARE(client->pendingUpdateCount(), 2);
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
    QCOMPARE(client->pendingUpdateCount(), 0);
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
    QVERIFY(cutOff(proxy, *client));

    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    QVERIFY(client->updateState(QJsonObject{{"n", 1}}) > 0);
    QVERIFY(client->updateState(QJsonObject{{"n", 2}}) > 0);
    QCOMPARE(client->updateState(QJsonObject{{"n", 3}}), -1);
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::QueueFull);
    QCOMPARE(client->error(), Error::QueueFull);
    QCOMPARE(client->value().value("n").toInt(), 2);

    proxy.setRefusing(false);
    QTRY_COMPARE_WITH_TIMEOUT(client->pendingUpdateCount(), 0, Timeout);
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
    QVERIFY(cutOff(proxy, *client));
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 id = client->updateState(QJsonObject{{"n", 1}});
    QVERIFY(id > 0);
    // Leaving calls off the rejoin: what waited for it is reported, not dropped silently.
    client->leaveState();
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::NotJoined);
    QCOMPARE(client->pendingUpdateCount(), 0);
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
    // Nothing is let through the proxy: each attempt fails at once, so the waits are the
    // backoff. The client logs each wait it draws; each must lie between half its step
    // and the step, the steps doubling from 40 ms and capped at 160 ms. Timers never fire
    // early, so the time between attempts is at least the wait drawn.
    LogCapture capture;
    LogCapture::clear();
    QLoggingCategory::setFilterRules(QStringLiteral("qstatesync.client.debug=true"));
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
    connect(client.get(), &QStateSyncClient::reconnectAttemptChanged, this,
            [&] { attemptsAt.append(clock.elapsed()); });
    proxy.cutAll();
    QTRY_VERIFY_WITH_TIMEOUT(client->reconnectAttempt() >= 7, Timeout);
    QLoggingCategory::setFilterRules(QString());

    static const QRegularExpression drawn(QStringLiteral("reconnecting to .* in (\\d+) ms"));
    QList<int> waits;
    for (const QString &line : LogCapture::linesIn("qstatesync.client")) {
        const QRegularExpressionMatch match = drawn.match(line);
        if (match.hasMatch())
            waits.append(match.captured(1).toInt());
    }
    const QList<int> steps{40, 80, 160, 160, 160, 160};
    QVERIFY2(waits.size() >= steps.size(), qPrintable(QString::number(waits.size())));
    for (int i = 0; i < steps.size(); ++i) {
        QVERIFY2(waits.at(i) >= steps.at(i) / 2 && waits.at(i) <= steps.at(i),
                 qPrintable(QStringLiteral("wait %1 was %2 ms").arg(i).arg(waits.at(i))));
    }
    // Jitter: four waits drawn at the cap are not all the same (1 in 81^3 if they were
    // random and the test were unlucky).
    QVERIFY(std::any_of(waits.cbegin() + 3, waits.cbegin() + 6,
                        [&](int wait) { return wait != waits.at(2); }));
    // Each attempt came no sooner than its wait: the waits were waited.
    for (int i = 0; i + 1 < attemptsAt.size() && i < steps.size(); ++i)
        QVERIFY(attemptsAt.at(i + 1) - attemptsAt.at(i) >= waits.at(i) - 1);
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
    QCOMPARE(client->pendingUpdateCount(), 0);
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
    QCOMPARE(client->pendingUpdateCount(), 1);
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
    QTRY_VERIFY_WITH_TIMEOUT(alice->pendingUpdateCount() == 0 && bob->pendingUpdateCount() == 0
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
    QVERIFY(cutOff(proxy, *client));
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QVERIFY(client->updateState(QJsonObject{{"n", 1}}) > 0);
    client->close();
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
    QCOMPARE(failed.count(), 1);
    QCOMPARE(client->pendingUpdateCount(), 0);
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
    ScriptedServer scripted;
    QList<QJsonObject> &fromClient = scripted.fromClient;
    const auto sendToClient = [&](int type, const QJsonObject &data) { scripted.send(type, data); };
    QStateSyncClient client(scripted.url(), "alice");
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
    QCOMPARE(client.pendingUpdateCount(), 0);
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
    QCOMPARE(client.pendingUpdateCount(), 0);
    QCOMPARE(client.version(), 14);
    // Shown once, not twice: the snapshot includes the append.
    QCOMPARE(client.jsonValue(), snapshot);
    QCOMPARE(joined.count(), 1);
}

// A value far larger than one frame: the server sends it in fragments, which the client
// puts together (and counts as signs of life while they arrive).
void tst_ClientReliability::largeValuesArriveInFragments()
{
    auto server = startServer();
    const QString big(700 * 1024, QLatin1Char('b'));
    createState(*server, "s", QJsonObject{{"big", big}});
    auto client = joinedClient(*server, "alice", "s");
    QCOMPARE(client->value().value("big").toString().size(), big.size());
    auto other = joinedClient(*server, "bob", "s");
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    other->updateState(QJsonObject{{"big", QString(300 * 1024, QLatin1Char('c'))}});
    QVERIFY(updated.wait(Timeout));
    QCOMPARE(client->jsonValue(), *server->valueOfState("s"));
}

void tst_ClientReliability::retryFromUpdateFailedAtALossIsQueued()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    QPointer<QStateSyncUpdateRequest> held;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                if (request->updates().contains("held")) {
                    request->defer(); // answered after the cut: in flight when it comes
                    held = request;
                }
            });
    auto client = quickClient(proxy.url(), "alice");
    QVERIFY(joinAndWait(*client, "s"));
    qint64 retried = 0;
    connect(client.get(), &QStateSyncClient::updateFailed, this,
            [&](qint64, QStateSync::Error error, const QString &) {
                if (error == Error::ConnectionLost)
                    retried = client->updateState(QJsonObject{{"retried", true}});
            });
    QSignalSpy seen(server.get(), &QStateSyncer::updateRequested);
    client->updateState(QJsonObject{{"held", 1}});
    QVERIFY(seen.wait(Timeout));
    proxy.cutAll();
    QTRY_VERIFY_WITH_TIMEOUT(retried != 0, Timeout);
    QVERIFY(retried > 0); // queued for the rejoin, not written to the dead socket
    QCOMPARE(client->pendingUpdateCount(), 1);
    QVERIFY(held);
    held->reject(QStringLiteral("too late"));
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(acknowledged.at(0).at(0).toLongLong(), retried);
    QCOMPARE(server->valueOfState("s")->value("retried").toBool(), true);
}

void tst_ClientReliability::updateFromUpdateFailedInsideCloseIsRefused()
{
    auto server = startServer();
    createState(*server, "s");
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [](QStateSyncUpdateRequest *request) { request->defer(); });
    auto client = joinedClient(*server, "alice", "s");
    qint64 fromSlot = 0;
    connect(client.get(), &QStateSyncClient::updateFailed, this, [&] {
        fromSlot = client->updateState(QJsonObject{{"late", 1}});
    });
    client->updateState(QJsonObject{{"n", 1}});
    client->close();
    QCOMPARE(fromSlot, -1);
    QCOMPARE(client->error(), Error::NotConnected);
    QCOMPARE(client->pendingUpdateCount(), 0);
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
}

void tst_ClientReliability::closeFromASlotDuringAJoinStaysClosed()
{
    auto server = startServer();
    createState(*server, "s");
    createState(*server, "t");
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [](QStateSyncUpdateRequest *request) { request->defer(); });
    auto client = joinedClient(*server, "alice", "s");
    QSignalSpy seen(server.get(), &QStateSyncer::updateRequested);
    client->updateState(QJsonObject{{"n", 1}});
    QVERIFY(seen.wait(Timeout));
    connect(client.get(), &QStateSyncClient::updateFailed, this, [&] { client->close(); });
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QSignalSpy disconnected(client.get(), &QStateSyncClient::disconnected);
    client->connectToState("t"); // the answer fails s's update, and the slot closes
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
    QVERIFY(!client->isActive());
    QCOMPARE(disconnected.count(), 1);
    QSignalSpy statuses(client.get(), &QStateSyncClient::statusChanged);
    QVERIFY(!statuses.wait(200));
}

void tst_ClientReliability::leavingWhileAJoinWaitsFailsWhatWaited()
{
    auto server = startServer();
    createState(*server, "s");
    QList<QPointer<QStateSyncJoinRequest>> held;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        request->defer();
        held.append(request);
    });
    auto client = quickClient(urlOf(*server), "alice");
    client->connectToState("s");
    QTRY_COMPARE_WITH_TIMEOUT(held.size(), 1, Timeout);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 id = client->updateState(QJsonObject{{"n", 1}});
    QVERIFY(id > 0);
    client->leaveState();
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::NotJoined);
    QCOMPARE(client->pendingUpdateCount(), 0);
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Connected, Timeout);
}

void tst_ClientReliability::resyncWaitsForAJoinToAnotherState_data()
{
    QTest::addColumn<bool>("otherJoinFails");
    QTest::addRow("the other join succeeds") << false;
    QTest::addRow("the other join fails") << true;
}

// A gap in the versions of state a while a join to b is on its way: asking for a again
// would move the client back. It waits: b's answer replaces the copy, or, if b refuses,
// the client asks for a then.
void tst_ClientReliability::resyncWaitsForAJoinToAnotherState()
{
    QFETCH(bool, otherJoinFails);
    ScriptedServer scripted;
    QList<QJsonObject> &fromClient = scripted.fromClient;
    const auto sendToClient = [&](int type, const QJsonObject &data) { scripted.send(type, data); };
    QStateSyncClient client(scripted.url(), "alice");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("a");
    QTRY_COMPARE(fromClient.size(), 1);
    sendToClient(7,
                 QJsonObject{{"state", QJsonObject{{"n", 1}}},
                             {"stateIdentifier", "a"},
                             {"version", 1}});
    QVERIFY(joined.wait(Timeout));
    client.connectToState("b");
    QTRY_COMPARE(fromClient.size(), 2);
    sendToClient(3, QJsonObject{{"updates", QJsonObject{{"n", 5}}}, {"version", 5}});
    // Let the client read it: a marker message it must also ignore.
    QSignalSpy errors(&client, &QStateSyncClient::errorOccurred);
    sendToClient(25, QJsonObject{{"code", "invalid_message"}, {"message", "marker"}});
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(fromClient.size(), 2); // no join of a in between
    if (!otherJoinFails) {
        sendToClient(7,
                     QJsonObject{{"state", QJsonObject{{"m", 2}}},
                                 {"stateIdentifier", "b"},
                                 {"version", 3}});
        QTRY_COMPARE(client.status(), QStateSyncClient::Joined);
        QCOMPARE(client.stateIdentifier(), QStringLiteral("b"));
        QCOMPARE(client.jsonValue(), QJsonObject({{"m", 2}}));
        QCOMPARE(fromClient.size(), 2);
        return;
    }
    sendToClient(
            8,
            QJsonObject{{"code", "state_not_found"}, {"message", "no"}, {"stateIdentifier", "b"}});
    QTRY_COMPARE(fromClient.size(), 3);
    QCOMPARE(fromClient.at(2).value("data").toObject().value("stateIdentifier").toString(),
             QStringLiteral("a"));
    sendToClient(7,
                 QJsonObject{{"state", QJsonObject{{"n", 5}}},
                             {"stateIdentifier", "a"},
                             {"version", 5}});
    QTRY_COMPARE(client.version(), 5);
    QCOMPARE(client.stateIdentifier(), QStringLiteral("a"));
    QCOMPARE(client.status(), QStateSyncClient::Joined);
}

void tst_ClientReliability::silentEndpointTimesOutAndTheNextIsTried()
{
    // Takes TCP connections and never answers the upgrade.
    QTcpServer silent;
    QVERIFY(silent.listen(QHostAddress::LocalHost, 0));
    auto server = startServer();
    createState(*server, "s");
    auto client = quickClient(QUrl(), "alice");
    client->setConnectTimeout(200);
    QCOMPARE(client->connectTimeout(), 200);
    client->setUrls(
            {QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(silent.serverPort())), urlOf(*server)});
    QVERIFY(joinAndWait(*client, "s"));
    QCOMPARE(client->currentUrl(), urlOf(*server));
    QVERIFY(silent.hasPendingConnections() || silent.isListening());
}

void tst_ClientReliability::newTokenWhileAwayKeepsTheQueue()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    QStringList tokens;
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                tokens.append(request->token());
                request->accept();
            });
    auto client = quickClient(proxy.url(), "alice");
    client->setAccessToken("old");
    QVERIFY(joinAndWait(*client, "s"));
    QVERIFY(cutOff(proxy, *client));
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    const qint64 id = client->updateState(QJsonObject{{"n", 1}});
    client->setAccessToken("new");
    QCOMPARE(failed.count(), 0);
    proxy.setRefusing(false);
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(acknowledged.at(0).at(0).toLongLong(), id);
    QCOMPARE(tokens.last(), QStringLiteral("new"));
    QCOMPARE(failed.count(), 0);
}

void tst_ClientReliability::v1AppendsInARowAreAllKept()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"list", QJsonArray{0}}});
    QStateSyncClient client(urlOf(*server), "alice");
    client.setRequestedProtocolVersion(QStateSyncClient::ProtocolV1);
    QVERIFY(joinAndWait(client, "s"));
    QCOMPARE(client.protocolVersion(), QStateSyncClient::ProtocolV1);
    client.append("list", QJsonArray{1});
    client.append("list", QJsonArray{2});
    client.append("list", QJsonArray{3});
    QTRY_COMPARE(server->valueOfState("s")->value("list").toArray(), QJsonArray({0, 1, 2, 3}));
    QTRY_COMPARE(client.jsonValue().value("list").toArray(), QJsonArray({0, 1, 2, 3}));
    // Once the server sent the key back, the copy is the base again.
    QVERIFY(server->appendToState("s", QJsonObject{{"list", QJsonArray{4}}}));
    QTRY_COMPARE(client.jsonValue().value("list").toArray().size(), 5);
    client.append("list", QJsonArray{5});
    QTRY_COMPARE(server->valueOfState("s")->value("list").toArray(),
                 QJsonArray({0, 1, 2, 3, 4, 5}));
}

void tst_ClientReliability::givingUpMakesTheClientInactive()
{
    auto server = startServer();
    FaultProxy proxy(server->serverPort());
    createState(*server, "s");
    auto client = quickClient(proxy.url(), "alice");
    client->setAutoReconnect(false);
    QVERIFY(joinAndWait(*client, "s"));
    QSignalSpy activeChanged(client.get(), &QStateSyncClient::activeChanged);
    proxy.cutAll();
    QTRY_COMPARE_WITH_TIMEOUT(client->status(), QStateSyncClient::Unconnected, Timeout);
    QVERIFY(!client->isActive());
    QCOMPARE(activeChanged.count(), 1);
    // Active again: it opens and rejoins.
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->setActive(true);
    QVERIFY(joined.wait(Timeout));
}

// The echo of the client's own update arrives while it waits for a whole new value (after
// a gap): the update is acknowledged once that value is in the copy, not before, so
// version() and pendingUpdateCount agree with what updateAcknowledged() says.
void tst_ClientReliability::acknowledgementDuringAResyncComesWithTheNewValue()
{
    ScriptedServer scripted;
    QStateSyncClient client(scripted.url(), "alice");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    QSignalSpy acknowledged(&client, &QStateSyncClient::updateAcknowledged);
    client.connectToState("s");
    QTRY_COMPARE(scripted.fromClient.size(), 1);
    scripted.send(7,
                  QJsonObject{{"state", QJsonObject{{"n", 0}}},
                              {"stateIdentifier", "s"},
                              {"version", 1}});
    QVERIFY(joined.wait(Timeout));
    const qint64 id = client.updateState(QJsonObject{{"mine", true}});
    QTRY_COMPARE(scripted.fromClient.size(), 2);
    scripted.send(3, QJsonObject{{"updates", QJsonObject{{"n", 5}}}, {"version", 5}}); // a gap
    QTRY_COMPARE(scripted.fromClient.size(), 3); // the resync
    QCOMPARE(scripted.fromClient.at(2).value("type").toInt(), 2);
    scripted.send(3,
                  QJsonObject{{"updates", QJsonObject{{"mine", true}}},
                              {"version", 6},
                              {"requestId", id}});
    QSignalSpy errors(&client, &QStateSyncClient::errorOccurred);
    scripted.send(25, QJsonObject{{"code", "invalid_message"}, {"message", "marker"}});
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(acknowledged.count(), 0);
    QCOMPARE(client.pendingUpdateCount(), 1);
    QCOMPARE(client.value().value("mine").toBool(), true);
    scripted.send(7,
                  QJsonObject{{"state", QJsonObject{{"n", 5}, {"mine", true}}},
                              {"stateIdentifier", "s"},
                              {"version", 6}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(acknowledged.at(0).at(0).toLongLong(), id);
    QCOMPARE(acknowledged.at(0).at(1).toLongLong(), 6);
    QCOMPARE(client.version(), 6);
    QCOMPARE(client.pendingUpdateCount(), 0);
    QCOMPARE(client.jsonValue(), client.jsonServerValue());
}

void tst_ClientReliability::resyncOfARemovedStateIsNotAJoinFailure()
{
    ScriptedServer scripted;
    QStateSyncClient client(scripted.url(), "alice");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("s");
    QTRY_COMPARE(scripted.fromClient.size(), 1);
    scripted.send(7,
                  QJsonObject{{"state", QJsonObject{}}, {"stateIdentifier", "s"}, {"version", 1}});
    QVERIFY(joined.wait(Timeout));
    scripted.send(3, QJsonObject{{"updates", QJsonObject{{"n", 5}}}, {"version", 5}}); // a gap
    QTRY_COMPARE(scripted.fromClient.size(), 2); // the resync
    QSignalSpy removed(&client, &QStateSyncClient::stateRemoved);
    QSignalSpy joinFailed(&client, &QStateSyncClient::joinFailed);
    QSignalSpy errors(&client, &QStateSyncClient::errorOccurred);
    scripted.send(24, QJsonObject{{"stateIdentifier", "s"}, {"reason", "removed"}});
    scripted.send(8,
                  QJsonObject{{"code", "state_not_found"},
                              {"message", "State s does not exist or may not be joined"},
                              {"stateIdentifier", "s"}});
    scripted.send(25, QJsonObject{{"code", "invalid_message"}, {"message", "marker"}});
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(removed.count(), 1);
    QCOMPARE(joinFailed.count(), 0);
    QCOMPARE(errors.count(), 1); // the marker only
    QCOMPARE(client.status(), QStateSyncClient::Connected);
}

QTEST_MAIN(tst_ClientReliability)
#include "tst_clientreliability.moc"
