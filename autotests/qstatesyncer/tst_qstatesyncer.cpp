// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// QStateSyncer's API: states and their lifetime, the hooks (callbacks and request
// signals, synchronous and deferred), server-side updates and the notification signals.

#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qregularexpression.h>
#include <QtCore/qtimer.h>
#include <QtCore/quuid.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;
using QStateSync::RemovalReason;

class tst_QStateSyncer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void createStateReturnsIdentifierOrNull();
    void valueOfStateTellsNoneFromEmpty();
    void removeStateTellsJoinedClients();
    void removeAllStatesTellsEveryClient();
    void ttlRemovesTheStateWhenItExpires();
    void selfDestructIsAskedAfterEveryDisconnect();
    void selfDestructIsAskedWhenAClientLeavesOrMoves();
    void allowConnectingClientSeesClientInformation();
    void joinRequestedCanRejectDeferAndAccept();
    void asyncAuthorizationAcceptsLater();
    void authorizationMiddlewareDecidesLater();
    void interceptStateUpdateModifiesAndRefuses();
    void interceptStateUpdateSeesAppendsAsWholeArrays();
    void interceptStateAppendModifiesItems();
    void updateRequestedModifiesAndRejects();
    void deferredUpdatesStayInArrivalOrder();
    void deferredUpdateIsCancelledWhenTheStateIsRemoved();
    void updateStateValueGoesThroughInterceptorAndBroadcast();
    void appendToStateFromTheServer();
    void shallowMergeModeReplacesTopLevelKeys();
    void deepMergeDeletesKeysWithNull();
    void notificationSignals();
    void joiningAnotherStateLeavesTheFirst();
    void joinOfAStateRemovedMeanwhileKeepsTheClientWhereItWas();
    void rejoiningTheJoinedStateNeedsNoNewPermission();
    void handlerThatClosesTheServerDuringAMoveLeavesNoClientBehind();
    void joinOfAStateRecreatedMeanwhileIsNotLetThrough();
    void ttlLongerThanATimerCanCountIsKept();
    void handlerRemovingTheStateCancelsItsDeferredUpdate();
    void destroyingTheServerCancelsWaitingRequests();
    void leaveStateAnswersStateLeft();
    void rewrittenUpdateDeeperThanTheLimitIsRefused();
};

void tst_QStateSyncer::createStateReturnsIdentifierOrNull()
{
    QStateSyncer server;
    QSignalSpy created(&server, &QStateSyncer::stateCreated);
    QSignalSpy identifiersChanged(&server, &QStateSyncer::stateIdentifiersChanged);
    const QString generated = server.createState();
    QVERIFY(!QUuid::fromString(generated).isNull());
    QCOMPARE(createState(server, "abc"), QStringLiteral("abc"));
    QVERIFY(createState(server, "abc").isNull());
    QCOMPARE(created.count(), 2);
    QCOMPARE(identifiersChanged.count(), 2);
    QCOMPARE(created.at(1).at(0).toString(), QStringLiteral("abc"));
    QStringList identifiers = server.stateIdentifiers();
    identifiers.sort();
    QStringList expected{generated, "abc"};
    expected.sort();
    QCOMPARE(identifiers, expected);
    QVERIFY(server.hasState("abc"));
    QCOMPARE(server.versionOfState("abc"), 0);
    QCOMPARE(server.versionOfState("nope"), -1);
}

void tst_QStateSyncer::valueOfStateTellsNoneFromEmpty()
{
    QStateSyncer server;
    createState(server, "empty");
    createState(server, "full", QJsonObject{{"a", 1}});
    QVERIFY(!server.valueOfState("none").has_value());
    QVERIFY(server.valueOfState("empty").has_value());
    QCOMPARE(*server.valueOfState("empty"), QJsonObject());
    QCOMPARE(*server.valueOfState("full"), QJsonObject({{"a", 1}}));
}

void tst_QStateSyncer::removeStateTellsJoinedClients()
{
    const auto server = startServer();
    createState(*server, "s");
    createState(*server, "other");
    RawClient a;
    RawClient b;
    QVERIFY(a.open(urlOf(*server), "a"));
    QVERIFY(b.open(urlOf(*server), "b"));
    a.joinAndWait("s");
    b.joinAndWait("s");
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    QSignalSpy removed(server.get(), &QStateSyncer::stateRemoved);

    QVERIFY(server->removeState("s"));
    QVERIFY(!server->removeState("s"));
    for (RawClient *client : {&a, &b}) {
        const QJsonObject data = client->takeData(24);
        QCOMPARE(data.value("stateIdentifier").toString(), QStringLiteral("s"));
        QCOMPARE(data.value("reason").toString(), QStringLiteral("removed"));
    }
    QCOMPARE(left.count(), 2);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).value<RemovalReason>(), RemovalReason::Removed);

    a.update(QJsonObject{{"x", 1}}, 2);
    QCOMPARE(a.takeData(9).value("code").toString(), QStringLiteral("not_joined"));
    QCOMPARE(a.joinAndWait("other").value("stateIdentifier").toString(), QStringLiteral("other"));
}

void tst_QStateSyncer::removeAllStatesTellsEveryClient()
{
    const auto server = startServer();
    createState(*server, "one");
    createState(*server, "two");
    RawClient a;
    RawClient b;
    QVERIFY(a.open(urlOf(*server), "a"));
    QVERIFY(b.open(urlOf(*server), "b"));
    a.joinAndWait("one");
    b.joinAndWait("two");
    QSignalSpy removed(server.get(), &QStateSyncer::stateRemoved);
    server->removeAllStates();
    QCOMPARE(removed.count(), 2);
    QVERIFY(server->stateIdentifiers().isEmpty());
    QCOMPARE(a.takeData(24).value("stateIdentifier").toString(), QStringLiteral("one"));
    QCOMPARE(b.takeData(24).value("stateIdentifier").toString(), QStringLiteral("two"));
}

void tst_QStateSyncer::ttlRemovesTheStateWhenItExpires()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("short");
    options.setTtl(std::chrono::milliseconds(200));
    QCOMPARE(options.ttl(), std::chrono::milliseconds(200));
    QSignalSpy removed(server.get(), &QStateSyncer::stateRemoved);
    QElapsedTimer clock;
    clock.start();
    server->createState(options);
    createState(*server, "forever");

    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("short");
    const QJsonObject data = client.takeData(24);
    QCOMPARE(data.value("reason").toString(), QStringLiteral("ttl"));
    QVERIFY(clock.elapsed() >= 190);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(0).toString(), QStringLiteral("short"));
    QCOMPARE(removed.at(0).at(1).value<RemovalReason>(), RemovalReason::Ttl);
    QVERIFY(!server->hasState("short"));
    QVERIFY(server->hasState("forever"));
}

void tst_QStateSyncer::selfDestructIsAskedAfterEveryDisconnect()
{
    const auto server = startServer();
    QList<int> askedWith;
    QDateTime createdAt;
    const QDateTime before = QDateTime::currentDateTime();
    QStateSyncStateOptions options;
    options.setIdentifier("room");
    options.setSelfDestruct([&](int clientsLeft, const QDateTime &timeOfCreation) {
        askedWith.append(clientsLeft);
        createdAt = timeOfCreation;
        return clientsLeft == 0;
    });
    server->createState(options);
    QSignalSpy removed(server.get(), &QStateSyncer::stateRemoved);

    auto a = std::make_unique<RawClient>();
    auto b = std::make_unique<RawClient>();
    QVERIFY(a->open(urlOf(*server), "a"));
    QVERIFY(b->open(urlOf(*server), "b"));
    a->joinAndWait("room");
    b->joinAndWait("room");

    a.reset();
    QTRY_COMPARE(askedWith, QList<int>{1});
    QVERIFY(server->hasState("room"));
    QVERIFY(createdAt >= before.addSecs(-1) && createdAt <= QDateTime::currentDateTime());
    b.reset();
    QTRY_COMPARE(askedWith, (QList<int>{1, 0}));
    QVERIFY(!server->hasState("room"));
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).value<RemovalReason>(), RemovalReason::SelfDestruct);
}

void tst_QStateSyncer::selfDestructIsAskedWhenAClientLeavesOrMoves()
{
    const auto server = startServer();
    int asked = 0;
    QStateSyncStateOptions options;
    options.setIdentifier("room");
    options.setSelfDestruct([&](int, const QDateTime &) {
        ++asked;
        return false;
    });
    server->createState(options);
    createState(*server, "elsewhere");
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("room");
    client.joinAndWait("elsewhere");
    QCOMPARE(asked, 1);
    client.joinAndWait("room");
    client.send(21, QJsonValue::Null);
    QVERIFY(!client.take(23).isEmpty());
    QCOMPARE(asked, 2);
}

void tst_QStateSyncer::allowConnectingClientSeesClientInformation()
{
    const auto server = startServer();
    server->setRevealStateExistence(true); // the refusal's own code, join_refused
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                request->accept(
                        {{"permissions",
                          request->token() == QLatin1String("chat") ? QStringList{"somePermission"}
                                                                    : QStringList()}});
            });
    QList<QVariantMap> seen;
    QStateSyncStateOptions options;
    options.setIdentifier("guarded");
    options.setAllowConnectingClient([&](const QVariantMap &information) {
        seen.append(information);
        return information.value("permissions").toStringList().contains("somePermission");
    });
    server->createState(options);

    RawClient allowed;
    RawClient refused;
    QVERIFY(allowed.open(urlOf(*server), "a", "chat"));
    QVERIFY(refused.open(urlOf(*server), "b", "none"));
    QCOMPARE(allowed.joinAndWait("guarded").value("stateIdentifier").toString(),
             QStringLiteral("guarded"));
    refused.join("guarded");
    const QJsonObject error = refused.takeData(8);
    QCOMPARE(error.value("code").toString(), QStringLiteral("join_refused"));
    QCOMPARE(seen.size(), 2);
    QCOMPARE(seen.at(0).value("permissions").toStringList(), QStringList{"somePermission"});
    QCOMPARE(server->clientsOfState("guarded"), QStringList{"a"});
}

void tst_QStateSyncer::joinRequestedCanRejectDeferAndAccept()
{
    const auto server = startServer();
    createState(*server, "s");
    QPointer<QStateSyncJoinRequest> deferred;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        QCOMPARE(request->stateIdentifier(), QStringLiteral("s"));
        if (request->clientIdentifier() == QLatin1String("mallory")) {
            request->reject(QStringLiteral("Mallory is banned"));
        } else {
            request->defer();
            deferred = request;
        }
    });

    RawClient mallory;
    QVERIFY(mallory.open(urlOf(*server), "mallory"));
    mallory.join("s");
    const QJsonObject refusal = mallory.takeData(8);
    QCOMPARE(refusal.value("code").toString(), QStringLiteral("join_refused"));
    QCOMPARE(refusal.value("message").toString(), QStringLiteral("Mallory is banned"));

    RawClient alice;
    QVERIFY(alice.open(urlOf(*server), "alice"));
    alice.join("s");
    QTRY_VERIFY(deferred);
    QCOMPARE(deferred->status(), QStateSyncRequest::Deferred);
    QVERIFY(server->clientsOfState("s").isEmpty());
    QVERIFY(alice.received.isEmpty());
    deferred->accept();
    QVERIFY(!alice.take(7).isEmpty());
    QCOMPARE(server->clientsOfState("s"), QStringList{"alice"});
}

void tst_QStateSyncer::asyncAuthorizationAcceptsLater()
{
    const auto server = startServer();
    createState(*server, "s");
    QPointer<QStateSyncAuthorizationRequest> pending;
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                request->defer();
                pending = request;
            });
    QVariantMap informationAtJoin;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        informationAtJoin = request->clientInformation();
    });

    RawClient client;
    QUrl url = urlOf(*server);
    url.setQuery("identifier=late&token=t");
    client.socket.open(url);
    QTRY_VERIFY(pending);
    QCOMPARE(pending->clientIdentifier(), QStringLiteral("late"));
    QCOMPARE(client.socket.state(), QAbstractSocket::ConnectingState);
    pending->accept({{"email", "late@example.org"}});
    QTRY_COMPARE(client.socket.state(), QAbstractSocket::ConnectedState);
    client.joinAndWait("s");
    QCOMPARE(informationAtJoin.value("email").toString(), QStringLiteral("late@example.org"));
}

void tst_QStateSyncer::authorizationMiddlewareDecidesLater()
{
    const auto server = startServer();
    server->useAuthorizationMiddleware([](QStateSyncAuthorizationRequest *request,
                                          const QStateSyncer::AuthorizationCallback &callback) {
        const QString token = request->token();
        // Answer from the event loop, as a middleware that asks a database would.
        QTimer::singleShot(0, [token, callback] {
            if (token == QLatin1String("valid"))
                callback({{"email", "a@example.org"}}, true);
            else
                callback({}, false);
        });
    });
    QVariantMap joinedWith;
    connect(server.get(), &QStateSyncer::clientJoined, this,
            [&](const QString &, const QString &, const QVariantMap &information) {
                joinedWith = information;
            });
    createState(*server, "s");

    QCOMPARE(
            rawRequest(server->serverPort(), upgradeRequest("/?identifier=a&token=invalid")).status,
            401);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a", "valid"));
    client.joinAndWait("s");
    QCOMPARE(joinedWith.value("email").toString(), QStringLiteral("a@example.org"));

    server->useAuthorizationMiddleware({});
    RawClient anyone;
    QVERIFY(anyone.open(urlOf(*server), "b", "invalid"));
}

void tst_QStateSyncer::interceptStateUpdateModifiesAndRefuses()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInterceptStateUpdate(
            [](const QJsonObject &updates,
               const QVariantMap &information) -> std::optional<QJsonObject> {
                if (updates.contains("forbidden"))
                    return std::nullopt;
                QJsonObject modified = updates;
                modified.insert("by", information.value("name").toString());
                return modified;
            });
    server->createState(options);
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                request->accept({{"name", request->clientIdentifier()}});
            });
    RawClient sender;
    RawClient watcher;
    QVERIFY(sender.open(urlOf(*server), "alice"));
    QVERIFY(watcher.open(urlOf(*server), "bob"));
    sender.joinAndWait("s");
    watcher.joinAndWait("s");

    sender.update(QJsonObject{{"forbidden", 1}}, 1);
    const QJsonObject refusal = sender.takeData(9);
    QCOMPARE(refusal.value("code").toString(), QStringLiteral("update_refused"));
    QCOMPARE(refusal.value("requestId").toInt(), 1);

    sender.update(QJsonObject{{"text", "hi"}}, 2);
    const QJsonObject applied = watcher.takeData(3);
    QCOMPARE(applied.value("updates").toObject(), QJsonObject({{"text", "hi"}, {"by", "alice"}}));
    QCOMPARE(applied.value("version").toInt(), 1); // the refused update used no version
    QCOMPARE(sender.takeData(3).value("requestId").toInt(), 2);
}

void tst_QStateSyncer::interceptStateUpdateSeesAppendsAsWholeArrays()
{
    const auto server = startServer();
    QList<QJsonObject> seen;
    QStateSyncStateOptions options;
    options.setIdentifier("chat");
    options.setInitialValue(QJsonObject{{"chatMessages", QJsonArray{"first"}}});
    options.setInterceptStateUpdate(
            [&](const QJsonObject &updates, const QVariantMap &) -> std::optional<QJsonObject> {
                seen.append(updates);
                return updates;
            });
    server->createState(options);
    RawClient a;
    RawClient b;
    QVERIFY(a.open(urlOf(*server), "a"));
    QVERIFY(b.open(urlOf(*server), "b"));
    a.joinAndWait("chat");
    b.joinAndWait("chat");
    // Two connections are not ordered: b sends once a's append is in.
    a.append(QJsonObject{{"chatMessages", QJsonArray{"from a"}}}, 1);
    QVERIFY(!a.take(3).isEmpty());
    b.append(QJsonObject{{"chatMessages", QJsonArray{"from b"}}}, 1);
    QVERIFY(!a.take(3).isEmpty());
    QCOMPARE(seen.size(), 2);
    QCOMPARE(seen.at(0).value("chatMessages").toArray(), QJsonArray({"first", "from a"}));
    QCOMPARE(seen.at(1).value("chatMessages").toArray(), QJsonArray({"first", "from a", "from b"}));
    QCOMPARE(server->valueOfState("chat")->value("chatMessages").toArray().size(), 3);
}

void tst_QStateSyncer::interceptStateAppendModifiesItems()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("chat");
    options.setInterceptStateUpdate([](const QJsonObject &, const QVariantMap &) {
        return std::optional<QJsonObject>(); // plain updates are not allowed here
    });
    options.setInterceptStateAppend(
            [](const QJsonObject &appends, const QVariantMap &) -> std::optional<QJsonObject> {
                QJsonArray items = appends.value("chatMessages").toArray();
                if (items.isEmpty())
                    return std::nullopt;
                QJsonArray stamped;
                for (const QJsonValue &item : std::as_const(items)) {
                    QJsonObject message = item.toObject();
                    message.insert("checked", true);
                    stamped.append(message);
                }
                return QJsonObject{{"chatMessages", stamped}};
            });
    server->createState(options);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("chat");
    client.update(QJsonObject{{"chatMessages", QJsonArray()}}, 1);
    QCOMPARE(client.takeData(9).value("code").toString(), QStringLiteral("update_refused"));
    client.append(QJsonObject{{"chatMessages", QJsonArray{QJsonObject{{"t", "x"}}}}}, 2);
    const QJsonObject applied = client.takeData(22);
    QCOMPARE(applied.value("appends")
                     .toObject()
                     .value("chatMessages")
                     .toArray()
                     .at(0)
                     .toObject()
                     .value("checked")
                     .toBool(),
             true);
    client.append(QJsonObject{{"other", QJsonArray{1}}}, 3);
    QCOMPARE(client.takeData(9).value("requestId").toInt(), 3);
}

void tst_QStateSyncer::updateRequestedModifiesAndRejects()
{
    const auto server = startServer();
    createState(*server, "s");
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [](QStateSyncUpdateRequest *request) {
                QCOMPARE(request->stateIdentifier(), QStringLiteral("s"));
                QCOMPARE(request->kind(), QStateSyncUpdateRequest::Update);
                if (request->updates().contains("bad")) {
                    request->reject(QStringLiteral("bad is not allowed"));
                    return;
                }
                QJsonObject updates = request->updates();
                updates.insert("checkedBy", "server");
                request->setUpdates(updates);
                request->accept();
            });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"bad", 1}}, 1);
    const QJsonObject refusal = client.takeData(9);
    QCOMPARE(refusal.value("code").toString(), QStringLiteral("update_refused"));
    QCOMPARE(refusal.value("message").toString(), QStringLiteral("bad is not allowed"));
    client.update(QJsonObject{{"good", 1}}, 2);
    QCOMPARE(client.takeData(3).value("updates").toObject(),
             QJsonObject({{"good", 1}, {"checkedBy", "server"}}));
}

void tst_QStateSyncer::deferredUpdatesStayInArrivalOrder()
{
    const auto server = startServer();
    createState(*server, "s", QJsonObject{{"log", QJsonArray()}});
    QList<QPointer<QStateSyncUpdateRequest>> requests;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                request->defer();
                requests.append(request);
            });
    RawClient a;
    RawClient b;
    QVERIFY(a.open(urlOf(*server), "a"));
    QVERIFY(b.open(urlOf(*server), "b"));
    a.joinAndWait("s");
    b.joinAndWait("s");

    // Messages on different sockets have no order of their own: each step waits for an
    // answer to a later message on the same socket, so the server has read the step.
    a.append(QJsonObject{{"log", QJsonArray{"a1"}}}, 1);
    QTRY_COMPARE(requests.size(), 1);
    b.append(QJsonObject{{"log", QJsonArray{"b1"}}}, 1);
    QVERIFY(!b.joinAndWait("s").isEmpty());
    a.update(QJsonObject{{"last", "a2"}}, 2);
    QVERIFY(!a.joinAndWait("s").isEmpty());
    QCOMPARE(requests.size(), 1); // the others wait behind the first
    QCOMPARE(server->versionOfState("s"), 0);

    requests.at(0)->accept();
    QTRY_COMPARE(requests.size(), 2);
    QCOMPARE(requests.at(1)->clientIdentifier(), QStringLiteral("b"));
    QCOMPARE(server->versionOfState("s"), 1);
    requests.at(1)->reject();
    QTRY_COMPARE(requests.size(), 3);
    QCOMPARE(b.takeData(9).value("code").toString(), QStringLiteral("update_refused"));
    requests.at(2)->accept();
    QTRY_COMPARE(server->versionOfState("s"), 2);
    QCOMPARE(*server->valueOfState("s"), QJsonObject({{"log", QJsonArray{"a1"}}, {"last", "a2"}}));
}

void tst_QStateSyncer::deferredUpdateIsCancelledWhenTheStateIsRemoved()
{
    const auto server = startServer();
    createState(*server, "s");
    QPointer<QStateSyncUpdateRequest> deferred;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                request->defer();
                deferred = request;
            });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"x", 1}}, 1);
    QTRY_VERIFY(deferred);
    QSignalSpy finished(deferred.data(), &QStateSyncRequest::finished);
    server->removeState("s");
    QCOMPARE(finished.count(), 1);
    QCOMPARE(deferred->status(), QStateSyncRequest::Cancelled);
    deferred->accept(); // too late: nothing happens
    QCOMPARE(deferred->status(), QStateSyncRequest::Cancelled);
    QVERIFY(!client.take(24).isEmpty());
}

void tst_QStateSyncer::updateStateValueGoesThroughInterceptorAndBroadcast()
{
    const auto server = startServer();
    QVariantMap interceptedWith;
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInterceptStateUpdate(
            [&](const QJsonObject &updates, const QVariantMap &information) {
                interceptedWith = information;
                QJsonObject modified = updates;
                modified.insert("intercepted", true);
                return std::optional(modified);
            });
    server->createState(options);
    QList<bool> serverSide;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) { serverSide.append(request->isServerSide()); });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");

    QVERIFY(!server->updateStateValue("missing", QJsonObject{{"x", 1}}));
    QVERIFY(server->updateStateValue("s", QJsonObject{{"x", 1}}, {{"role", "admin"}}));
    const QJsonObject data = client.takeData(3);
    QCOMPARE(data.value("updates").toObject(), QJsonObject({{"x", 1}, {"intercepted", true}}));
    QVERIFY(!data.contains("requestId"));
    QCOMPARE(interceptedWith.value("role").toString(), QStringLiteral("admin"));
    QCOMPARE(serverSide, QList<bool>{true});
    QCOMPARE(server->versionOfState("s"), 1);
}

void tst_QStateSyncer::appendToStateFromTheServer()
{
    const auto server = startServer();
    createState(*server, "s");
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    QVERIFY(!server->appendToState("s", QJsonObject{{"m", 1}}));
    QVERIFY(server->appendToState("s", QJsonObject{{"m", QJsonArray{1, 2}}}));
    QCOMPARE(client.takeData(22).value("appends").toObject(),
             QJsonObject({{"m", QJsonArray{1, 2}}}));
    QCOMPARE(*server->valueOfState("s"), QJsonObject({{"m", QJsonArray{1, 2}}}));
}

void tst_QStateSyncer::shallowMergeModeReplacesTopLevelKeys()
{
    const auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setMergeMode(QStateSync::MergeMode::Shallow);
    options.setInitialValue(QJsonObject{{"property", QJsonObject{{"a", 1}, {"b", 2}}}});
    server->createState(options);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    QCOMPARE(client.joinAndWait("s").value("mergeMode").toString(), QStringLiteral("shallow"));
    client.update(QJsonObject{{"property", QJsonObject{{"nestedProperty", "value"}}},
                              {"gone", QJsonValue::Null}});
    QVERIFY(!client.take(3).isEmpty());
    QCOMPARE(*server->valueOfState("s"),
             QJsonObject({{"property", QJsonObject{{"nestedProperty", "value"}}},
                          {"gone", QJsonValue::Null}}));
}

void tst_QStateSyncer::deepMergeDeletesKeysWithNull()
{
    const auto server = startServer();
    createState(*server, "s",
                QJsonObject{{"keep", 1}, {"drop", 2}, {"nested", QJsonObject{{"a", 1}, {"b", 2}}}});
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"drop", QJsonValue::Null},
                              {"nested", QJsonObject{{"a", QJsonValue::Null}}}});
    QVERIFY(!client.take(3).isEmpty());
    QCOMPARE(*server->valueOfState("s"),
             QJsonObject({{"keep", 1}, {"nested", QJsonObject{{"b", 2}}}}));
}

void tst_QStateSyncer::notificationSignals()
{
    const auto server = startServer();
    QSignalSpy created(server.get(), &QStateSyncer::stateCreated);
    QSignalSpy joined(server.get(), &QStateSyncer::clientJoined);
    QSignalSpy updated(server.get(), &QStateSyncer::stateUpdated);
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    QSignalSpy removed(server.get(), &QStateSyncer::stateRemoved);
    QSignalSpy clients(server.get(), &QStateSyncer::clientCountChanged);
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                request->accept({{"n", 7}});
            });

    createState(*server, "s");
    QCOMPARE(created.count(), 1);
    auto client = std::make_unique<RawClient>();
    QVERIFY(client->open(urlOf(*server), "a"));
    QTRY_COMPARE(server->clientCount(), 1);
    client->joinAndWait("s");
    QCOMPARE(joined.count(), 1);
    QCOMPARE(joined.at(0).at(0).toString(), QStringLiteral("s"));
    QCOMPARE(joined.at(0).at(1).toString(), QStringLiteral("a"));
    QCOMPARE(joined.at(0).at(2).toMap().value("n").toInt(), 7);

    client->update(QJsonObject{{"x", 1}});
    QVERIFY(!client->take(3).isEmpty());
    client->append(QJsonObject{{"list", QJsonArray{1}}});
    QVERIFY(!client->take(22).isEmpty());
    QCOMPARE(updated.count(), 2);
    QCOMPARE(updated.at(0).at(1).toJsonObject(), QJsonObject({{"x", 1}}));
    QCOMPARE(updated.at(0).at(2).toLongLong(), 1);
    QCOMPARE(updated.at(1).at(1).toJsonObject(), QJsonObject({{"list", QJsonArray{1}}}));

    client.reset();
    QTRY_COMPARE(left.count(), 1);
    QCOMPARE(left.at(0).at(1).toString(), QStringLiteral("a"));
    QTRY_COMPARE(server->clientCount(), 0);
    QCOMPARE(clients.count(), 2);
    server->removeState("s");
    QCOMPARE(removed.count(), 1);
}

void tst_QStateSyncer::joiningAnotherStateLeavesTheFirst()
{
    const auto server = startServer();
    createState(*server, "one");
    createState(*server, "two");
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("one");
    client.joinAndWait("two");
    QCOMPARE(left.count(), 1);
    QCOMPARE(left.at(0).at(0).toString(), QStringLiteral("one"));
    QVERIFY(server->clientsOfState("one").isEmpty());
    QCOMPARE(server->clientsOfState("two"), QStringList{"a"});
    server->updateStateValue("one", QJsonObject{{"x", 1}});
    server->updateStateValue("two", QJsonObject{{"y", 1}});
    QCOMPARE(client.takeData(3).value("updates").toObject(), QJsonObject({{"y", 1}}));
    // A refused join keeps the client where it was.
    client.join("three");
    QVERIFY(!client.take(8).isEmpty());
    QCOMPARE(server->clientsOfState("two"), QStringList{"a"});
}

void tst_QStateSyncer::joinOfAStateRemovedMeanwhileKeepsTheClientWhereItWas()
{
    const auto server = startServer();
    createState(*server, "a");
    createState(*server, "b");
    QPointer<QStateSyncJoinRequest> deferred;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        if (request->stateIdentifier() == QLatin1String("b")) {
            request->defer();
            deferred = request;
        }
    });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "c"));
    client.joinAndWait("a");
    client.join("b");
    QTRY_VERIFY(deferred);
    server->removeState("b");
    deferred->accept();
    QCOMPARE(client.takeData(8).value("code").toString(), QStringLiteral("state_not_found"));
    QCOMPARE(server->clientsOfState("a"), QStringList{"c"});
    client.update(QJsonObject{{"still", "here"}}, 1);
    QCOMPARE(client.takeData(3).value("requestId").toInt(), 1);
}

void tst_QStateSyncer::rejoiningTheJoinedStateNeedsNoNewPermission()
{
    const auto server = startServer();
    int asked = 0;
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setAllowConnectingClient([&](const QVariantMap &) { return ++asked == 1; });
    server->createState(options);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "c"));
    client.joinAndWait("s");
    // A resync asks for the joined state again: the client is in, and stays in.
    QCOMPARE(client.joinAndWait("s").value("stateIdentifier").toString(), QStringLiteral("s"));
    QCOMPARE(asked, 1);
    QCOMPARE(server->clientsOfState("s"), QStringList{"c"});
}

void tst_QStateSyncer::handlerThatClosesTheServerDuringAMoveLeavesNoClientBehind()
{
    const auto server = startServer();
    createState(*server, "a");
    createState(*server, "b");
    // Leaving "a" (on the way to "b") makes a handler close the whole server.
    connect(server.get(), &QStateSyncer::clientLeft, this, [&](const QString &state) {
        if (state == QLatin1String("a"))
            server->close();
    });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "c"));
    client.joinAndWait("a");
    client.join("b");
    QVERIFY(client.waitForDisconnect());
    QTRY_COMPARE(server->clientCount(), 0);
    QVERIFY(server->clientsOfState("b").isEmpty());
    QVERIFY(server->updateStateValue("b", QJsonObject{{"after", true}}));
    QCOMPARE(server->versionOfState("b"), 1);
}

void tst_QStateSyncer::joinOfAStateRecreatedMeanwhileIsNotLetThrough()
{
    const auto server = startServer();
    createState(*server, "x");
    QPointer<QStateSyncJoinRequest> deferred;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        request->defer();
        deferred = request;
    });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "c"));
    client.join("x");
    QTRY_VERIFY(deferred);
    // While the hook waits, "x" is replaced by a private state of the same name.
    server->removeState("x");
    QStateSyncStateOptions options;
    options.setIdentifier("x");
    options.setAllowConnectingClient([](const QVariantMap &) { return false; });
    server->createState(options);
    deferred->accept();
    QCOMPARE(client.takeData(8).value("code").toString(), QStringLiteral("state_not_found"));
    QVERIFY(server->clientsOfState("x").isEmpty());
}

void tst_QStateSyncer::ttlLongerThanATimerCanCountIsKept()
{
    QStateSyncer server;
    // QTimer counts int milliseconds; 30 days overflow it, and Qt would warn and never
    // expire the state.
    QTest::failOnWarning(QRegularExpression(QStringLiteral(".*")));
    QStateSyncStateOptions options;
    options.setIdentifier("month");
    options.setTtl(std::chrono::hours(24 * 30));
    QCOMPARE(server.createState(options), QStringLiteral("month"));
    QCoreApplication::processEvents();
    QVERIFY(server.hasState("month"));
}

void tst_QStateSyncer::handlerRemovingTheStateCancelsItsDeferredUpdate()
{
    const auto server = startServer();
    createState(*server, "s");
    QPointer<QStateSyncUpdateRequest> kept;
    std::unique_ptr<QSignalSpy> finished;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                request->defer();
                kept = request;
                finished = std::make_unique<QSignalSpy>(request, &QStateSyncRequest::finished);
                server->removeState(request->stateIdentifier());
            });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "c"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"x", 1}}, 1);
    QVERIFY(!client.take(24).isEmpty());
    QVERIFY(finished);
    QCOMPARE(finished->count(), 1);
    QTRY_VERIFY(!kept); // answered requests are deleted
}

void tst_QStateSyncer::destroyingTheServerCancelsWaitingRequests()
{
    auto server = startServer();
    createState(*server, "s");
    createState(*server, "t");
    QList<QStateSyncRequest::Status> endings;
    connect(server.get(), &QStateSyncer::joinRequested, this, [&](QStateSyncJoinRequest *request) {
        if (request->stateIdentifier() != QLatin1String("t"))
            return;
        request->defer();
        connect(request, &QStateSyncRequest::finished, this,
                [&endings, request] { endings.append(request->status()); });
    });
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                request->defer();
                connect(request, &QStateSyncRequest::finished, this,
                        [&endings, request] { endings.append(request->status()); });
            });
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "c"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"x", 1}}, 1);
    client.join("t");
    QTRY_COMPARE(server->clientsOfState("s").size(), 1);
    QSignalSpy requested(server.get(), &QStateSyncer::joinRequested);
    QVERIFY(requested.count() == 1 || requested.wait(Timeout));
    server.reset();
    QCOMPARE(endings,
             (QList<QStateSyncRequest::Status>{QStateSyncRequest::Cancelled,
                                               QStateSyncRequest::Cancelled}));
}

void tst_QStateSyncer::leaveStateAnswersStateLeft()
{
    const auto server = startServer();
    createState(*server, "s");
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.send(21, QJsonObject());
    QCOMPARE(client.takeData(23).value("stateIdentifier").toString(), QStringLiteral("s"));
    QCOMPARE(left.count(), 1);
    QVERIFY(server->clientsOfState("s").isEmpty());
}

void tst_QStateSyncer::rewrittenUpdateDeeperThanTheLimitIsRefused()
{
    const auto server = startServer();
    server->setMaxNestingDepth(8);
    QCOMPARE(server->maxNestingDepth(), 8);
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInterceptStateUpdate([](const QJsonObject &, const QVariantMap &) {
        QJsonValue deep = 1;
        for (int i = 0; i < 10; ++i)
            deep = QJsonArray{deep};
        return std::optional(QJsonObject{{"deep", deep}});
    });
    server->createState(options);
    RawClient client;
    QVERIFY(client.open(urlOf(*server), "a"));
    client.joinAndWait("s");
    client.update(QJsonObject{{"flat", 1}}, 4);
    const QJsonObject refusal = client.takeData(9);
    QCOMPARE(refusal.value("code").toString(), QStringLiteral("nesting_too_deep"));
    QCOMPARE(refusal.value("requestId").toInt(), 4);
    QCOMPARE(*server->valueOfState("s"), QJsonObject());
}

QTEST_GUILESS_MAIN(tst_QStateSyncer)
#include "tst_qstatesyncer.moc"
