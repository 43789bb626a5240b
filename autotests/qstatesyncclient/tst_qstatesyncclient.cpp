// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// QStateSyncClient against a real QStateSyncer (and, for what only a misbehaving server
// does, against a scripted WebSocket server).

#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncClient>
#include <QStateSyncJoinRequest>
#include <QStateSyncPresenceModel>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtQml/qqmlcontext.h>
#include <QtQml/qqmlengine.h>
#include <QtQml/qqmlexpression.h>
#include <QtQml/qqmlpropertymap.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>
#include <QtWebSockets/qwebsocketserver.h>

using namespace TestSupport;
using QStateSync::Error;

class tst_QStateSyncClient : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void statusTransitionsAndSignals();
    void connectToStateOpensAndJoins();
    void joinFailedCarriesTheCode();
    void refusedAuthorizationIsUnauthorized();
    void closedPortIsConnectionFailed();
    void updateIsAcknowledged();
    void refusedUpdateIsReportedWithItsRequestId();
    void updateWhileNotJoinedIsReported();
    void listenersGetNewAndPreviousValues();
    void deletedKeyHasNoValue();
    void stateMapFollowsTheValue();
    void stateMapTakesManyKeysAtOnce();
    void qmlWriteToTheMapSendsAnUpdate();
    void setValueAtChangesNestedValues();
    void appendsOfTwoClientsAreBothKept();
    void leaveStateAndStateRemoved();
    void v1ModeWithOurServer();
    void versionGapTriggersResync();
    void pendingUpdateFailsWhenTheConnectionDrops();
    void pendingUpdateFailsWhenTheClientLeaves();
    void pendingUpdateFailsWhenTheClientCloses();
    void activeOpensFromTheEventLoopAndCloses();
    void settingStateIdentifierJoinsMovesAndLeaves();
    void changingTheUrlWhileActiveReconnects();
    void switchingQuicklyToAStateAndThenAMissingOneKeepsTheRightValue();
    void switchingQuicklyFromAMissingStateWritesToTheRightOne();
    void changesOfTheJoinedStateArriveWhileAnotherJoinWaits();
    void leavingWhileAJoinWaitsEndsConnected();
    void keysQmlReservesDoNotHideTheOthers();
    void v1ClientCannotClearItsStateIdentifier();
    void wssWithTrustedCertificate();

private:
    std::unique_ptr<QStateSyncer> m_server;
    std::unique_ptr<QStateSyncClient> makeClient(const QString &identifier,
                                                 const QString &token = QString());
    std::unique_ptr<QStateSyncClient> joinedClient(const QString &identifier, const QString &state)
    {
        return TestSupport::joinedClient(*m_server, identifier, state);
    }
    void createState(const QString &identifier, const QJsonObject &initial = QJsonObject(),
                     QStateSync::MergeMode mode = QStateSync::MergeMode::Deep)
    {
        QVERIFY(!TestSupport::createState(*m_server, identifier, initial, mode).isNull());
    }
};

void tst_QStateSyncClient::init()
{
    m_server = std::make_unique<QStateSyncer>();
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
}

void tst_QStateSyncClient::cleanup()
{
    m_server.reset();
}

std::unique_ptr<QStateSyncClient> tst_QStateSyncClient::makeClient(const QString &identifier,
                                                                   const QString &token)
{
    return std::make_unique<QStateSyncClient>(urlOf(*m_server), identifier, token);
}

void tst_QStateSyncClient::statusTransitionsAndSignals()
{
    createState("s", QJsonObject{{"a", 1}});
    auto client = makeClient("alice");
    QCOMPARE(client->url(), urlOf(*m_server));
    QCOMPARE(client->clientIdentifier(), QStringLiteral("alice"));
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
    QList<QStateSyncClient::Status> statuses;
    connect(client.get(), &QStateSyncClient::statusChanged, this,
            [&] { statuses.append(client->status()); });
    QSignalSpy connected(client.get(), &QStateSyncClient::connected);
    QSignalSpy disconnected(client.get(), &QStateSyncClient::disconnected);
    QSignalSpy stateIdentifier(client.get(), &QStateSyncClient::stateIdentifierChanged);

    client->open();
    QVERIFY(connected.wait(Timeout));
    QCOMPARE(client->protocolVersion(), QStateSyncClient::ProtocolV2);
    client->connectToState("s");
    QTRY_COMPARE(client->status(), QStateSyncClient::Joined);
    QCOMPARE(client->stateIdentifier(), QStringLiteral("s"));
    QCOMPARE(stateIdentifier.count(), 1);
    QCOMPARE(client->version(), 0);
    client->close();
    QCOMPARE(client->status(), QStateSyncClient::Unconnected);
    QCOMPARE(disconnected.count(), 1);
    QCOMPARE(statuses,
             (QList<QStateSyncClient::Status>{QStateSyncClient::Connecting,
                                              QStateSyncClient::Connected,
                                              QStateSyncClient::Joining, QStateSyncClient::Joined,
                                              QStateSyncClient::Unconnected}));
    QTRY_COMPARE(m_server->clientCount(), 0);
}

void tst_QStateSyncClient::connectToStateOpensAndJoins()
{
    createState("s", QJsonObject{{"title", "hello"}});
    auto client = makeClient("alice");
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState("s");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(joined.at(0).at(0).toString(), QStringLiteral("s"));
    QCOMPARE(joined.at(0).at(1).toMap(), QVariantMap({{"title", "hello"}}));
    QCOMPARE(client->value(), QVariantMap({{"title", "hello"}}));
    QCOMPARE(m_server->clientsOfState("s"), QStringList{"alice"});
}

void tst_QStateSyncClient::joinFailedCarriesTheCode()
{
    m_server->setRevealStateExistence(true); // so that the refusal has a code of its own
    QStateSyncStateOptions options;
    options.setIdentifier("private");
    options.setAllowConnectingClient([](const QVariantMap &) { return false; });
    m_server->createState(options);
    auto client = makeClient("alice");
    QSignalSpy failed(client.get(), &QStateSyncClient::joinFailed);
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    client->connectToState("missing");
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(0).toString(), QStringLiteral("missing"));
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::StateNotFound);
    QCOMPARE(client->status(), QStateSyncClient::Connected);
    QCOMPARE(client->stateIdentifier(), QString());
    client->connectToState("private");
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(1).at(1).value<Error>(), Error::JoinRefused);
    QCOMPARE(errors.count(), 2);
    QCOMPARE(client->error(), Error::JoinRefused);
}

void tst_QStateSyncClient::refusedAuthorizationIsUnauthorized()
{
    connect(m_server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                if (request->token() != QLatin1String("secret"))
                    request->reject();
            });
    auto client = makeClient("alice", "wrong");
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    QSignalSpy connected(client.get(), &QStateSyncClient::connected);
    client->open();
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::Unauthorized);
    QCOMPARE(client->status(), QStateSyncClient::Error);
    QCOMPARE(connected.count(), 0);

    client->setAccessToken("secret");
    QCOMPARE(client->accessToken(), QStringLiteral("secret"));
    client->open();
    QVERIFY(connected.wait(Timeout));
    QCOMPARE(errors.count(), 1);
}

void tst_QStateSyncClient::closedPortIsConnectionFailed()
{
    const QUrl url = urlOf(*m_server);
    m_server->close();
    QStateSyncClient client(url, "alice");
    client.setAutoReconnect(false);
    QSignalSpy errors(&client, &QStateSyncClient::errorOccurred);
    client.open();
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::ConnectionFailed);
    QCOMPARE(client.status(), QStateSyncClient::Error);

    QStateSyncClient incomplete;
    QSignalSpy incompleteErrors(&incomplete, &QStateSyncClient::errorOccurred);
    incomplete.open();
    QCOMPARE(incompleteErrors.count(), 1);
    QCOMPARE(incomplete.status(), QStateSyncClient::Error);
}

void tst_QStateSyncClient::updateIsAcknowledged()
{
    createState("s");
    auto alice = joinedClient("alice", "s");
    auto bob = joinedClient("bob", "s");
    QSignalSpy acknowledged(alice.get(), &QStateSyncClient::updateAcknowledged);
    QSignalSpy bobUpdated(bob.get(), &QStateSyncClient::stateUpdated);
    QSignalSpy bobAcknowledged(bob.get(), &QStateSyncClient::updateAcknowledged);
    const qint64 id = alice->updateState(QVariantMap{{"title", "x"}});
    QVERIFY(id > 0);
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(acknowledged.at(0).at(0).toLongLong(), id);
    QCOMPARE(acknowledged.at(0).at(1).toLongLong(), 1);
    QCOMPARE(alice->version(), 1);
    QCOMPARE(alice->value(), QVariantMap({{"title", "x"}}));
    QTRY_COMPARE(bobUpdated.count(), 1);
    QCOMPARE(bob->value(), alice->value());
    QCOMPARE(bobAcknowledged.count(), 0);
    QCOMPARE(alice->jsonValue(), *m_server->valueOfState("s"));
}

void tst_QStateSyncClient::refusedUpdateIsReportedWithItsRequestId()
{
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInterceptStateUpdate([](const QJsonObject &updates, const QVariantMap &) {
        return updates.contains("no") ? std::nullopt : std::optional(updates);
    });
    m_server->createState(options);
    auto client = joinedClient("alice", "s");
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    const qint64 id = client->updateState(QVariantMap{{"no", 1}});
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::UpdateRefused);
    QCOMPARE(errors.count(), 1);
    QCOMPARE(client->value(), QVariantMap());
    QCOMPARE(client->status(), QStateSyncClient::Joined);
}

void tst_QStateSyncClient::updateWhileNotJoinedIsReported()
{
    auto client = makeClient("alice");
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    QCOMPARE(client->updateState(QVariantMap{{"a", 1}}), -1);
    QCOMPARE(client->append("list", QVariant(1)), -1);
    QCOMPARE(errors.count(), 2);
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::NotConnected);
}

void tst_QStateSyncClient::listenersGetNewAndPreviousValues()
{
    createState("s", QJsonObject{{"property", "old"}, {"other", 1}});
    auto writer = joinedClient("writer", "s");
    auto reader = joinedClient("reader", "s");
    QList<QPair<QVariantMap, QVariantMap>> propertyCalls;
    QList<QVariantMap> allCalls;
    reader->addStateUpdateListener("listener",
                                   [&](const QVariantMap &updates, const QVariantMap &previous) {
                                       propertyCalls.append({updates, previous});
                                   },
                                   {"property"});
    reader->addStateUpdateListener("all", [&](const QVariantMap &updates, const QVariantMap &) {
        allCalls.append(updates);
    });
    QSignalSpy updated(reader.get(), &QStateSyncClient::stateUpdated);

    writer->updateState(QVariantMap{{"other", 2}});
    QTRY_COMPARE(updated.count(), 1);
    QCOMPARE(propertyCalls.size(), 0);
    QCOMPARE(allCalls.size(), 1);

    writer->updateState(QVariantMap{{"property", "new value"}});
    QTRY_COMPARE(updated.count(), 2);
    QCOMPARE(propertyCalls.size(), 1);
    QCOMPARE(propertyCalls.at(0).first, QVariantMap({{"property", "new value"}}));
    // The original handed the new values in both arguments.
    QCOMPARE(propertyCalls.at(0).second, QVariantMap({{"property", "old"}}));
    QCOMPARE(updated.at(1).at(0).toMap(), propertyCalls.at(0).first);
    QCOMPARE(updated.at(1).at(1).toMap(), propertyCalls.at(0).second);

    // The same identifier replaces the listener.
    int replacementCalls = 0;
    reader->addStateUpdateListener(
            "listener", [&](const QVariantMap &, const QVariantMap &) { ++replacementCalls; },
            {"property"});
    writer->updateState(QVariantMap{{"property", "third"}});
    QTRY_COMPARE(updated.count(), 3);
    QCOMPARE(propertyCalls.size(), 1);
    QCOMPARE(replacementCalls, 1);

    QVERIFY(reader->removeStateUpdateListener("listener"));
    QVERIFY(!reader->removeStateUpdateListener("listener"));
    writer->updateState(QVariantMap{{"property", "fourth"}});
    QTRY_COMPARE(updated.count(), 4);
    QCOMPARE(replacementCalls, 1);
    QCOMPARE(allCalls.size(), 4);
}

void tst_QStateSyncClient::deletedKeyHasNoValue()
{
    createState("s", QJsonObject{{"gone", "soon"}, {"nested", QJsonObject{{"a", 1}}}});
    auto client = joinedClient("alice", "s");
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QJsonObject{{"gone", QJsonValue::Null}, {"nested", QJsonObject{{"b", 2}}}});
    QVERIFY(acknowledged.wait(Timeout));
    // Shown at once; the server's echo confirms it and changes nothing more.
    QCOMPARE(updated.count(), 1);
    const QVariantMap updates = updated.at(0).at(0).toMap();
    const QVariantMap previous = updated.at(0).at(1).toMap();
    QVERIFY(updates.contains("gone"));
    QVERIFY(!updates.value("gone").isValid());
    QCOMPARE(previous.value("gone").toString(), QStringLiteral("soon"));
    QCOMPARE(updates.value("nested").toMap(), QVariantMap({{"a", 1}, {"b", 2}}));
    QCOMPARE(previous.value("nested").toMap(), QVariantMap({{"a", 1}}));
    QVERIFY(!client->value().contains("gone"));
    QVERIFY(!client->state()->value("gone").isValid());
}

void tst_QStateSyncClient::stateMapFollowsTheValue()
{
    createState("s", QJsonObject{{"title", "t"}, {"count", 1}});
    auto writer = joinedClient("writer", "s");
    auto reader = joinedClient("reader", "s");
    QQmlPropertyMap *map = reader->state();
    QCOMPARE(map->value("title").toString(), QStringLiteral("t"));
    QCOMPARE(map->value("count").toInt(), 1);
    QSignalSpy changed(reader.get(), &QStateSyncClient::stateUpdated);
    writer->updateState(QVariantMap{{"title", "new"}, {"count", QVariant()}, {"added", true}});
    QVERIFY(changed.wait(Timeout));
    QCOMPARE(map->value("title").toString(), QStringLiteral("new"));
    QVERIFY(!map->value("count").isValid());
    QCOMPARE(map->value("added").toBool(), true);

    // Joining another state empties the keys the new state does not have.
    createState("other", QJsonObject{{"different", 1}});
    QSignalSpy joined(reader.get(), &QStateSyncClient::joined);
    reader->connectToState("other");
    QVERIFY(joined.wait(Timeout));
    QVERIFY(!map->value("title").isValid());
    QCOMPARE(map->value("different").toInt(), 1);
}

void tst_QStateSyncClient::stateMapTakesManyKeysAtOnce()
{
    QJsonObject big;
    for (int i = 0; i < 2000; ++i)
        big.insert(QStringLiteral("key%1").arg(i), i);
    createState("big", big);
    auto client = joinedClient("alice", "big");
    QCOMPARE(client->state()->count(), 2000);
    QCOMPARE(client->state()->value("key1999").toInt(), 1999);
}

void tst_QStateSyncClient::qmlWriteToTheMapSendsAnUpdate()
{
    createState("s", QJsonObject{{"title", "before"}, {"user", QJsonObject{{"name", "a"}}}});
    auto writer = joinedClient("writer", "s");
    auto reader = joinedClient("reader", "s");
    QQmlEngine engine;
    engine.rootContext()->setContextProperty("sync", writer.get());
    QSignalSpy readerUpdated(reader.get(), &QStateSyncClient::stateUpdated);
    QSignalSpy acknowledged(writer.get(), &QStateSyncClient::updateAcknowledged);

    QQmlExpression write(engine.rootContext(), nullptr, "sync.state.title = 'from qml'");
    write.evaluate();
    QVERIFY(!write.hasError());
    // The map shows the write at once (optimistic update); the server confirms it.
    QCOMPARE(writer->state()->value("title").toString(), QStringLiteral("from qml"));
    QCOMPARE(writer->jsonServerValue().value("title").toString(), QStringLiteral("before"));
    QCOMPARE(writer->pendingUpdateCount(), 1);
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(writer->pendingUpdateCount(), 0);
    QCOMPARE(writer->jsonServerValue().value("title").toString(), QStringLiteral("from qml"));
    QCOMPARE(writer->state()->value("title").toString(), QStringLiteral("from qml"));
    QTRY_COMPARE(reader->state()->value("title").toString(), QStringLiteral("from qml"));
    QCOMPARE(m_server->valueOfState("s")->value("title").toString(), QStringLiteral("from qml"));

    QQmlExpression read(engine.rootContext(), nullptr, "sync.state.title");
    QCOMPARE(read.evaluate().toString(), QStringLiteral("from qml"));

    QQmlExpression writeObject(engine.rootContext(), nullptr,
                               "sync.state.user = { name: 'b', tags: ['x'] }");
    writeObject.evaluate();
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(m_server->valueOfState("s")->value("user").toObject(),
             QJsonObject({{"name", "b"}, {"tags", QJsonArray{"x"}}}));

    // The documented way for nested values.
    QQmlExpression nested(engine.rootContext(), nullptr, "sync.setValueAt(['user', 'name'], 'c')");
    nested.evaluate();
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(m_server->valueOfState("s")->value("user").toObject().value("name").toString(),
             QStringLiteral("c"));
}

void tst_QStateSyncClient::setValueAtChangesNestedValues()
{
    const QJsonObject initial{
            {"doc", QJsonObject{{"title", "t"}, {"body", "b"}}},
            {"list", QJsonArray{QJsonObject{{"done", false}}, QJsonObject{{"done", false}}}}};
    createState("deep", initial);
    createState("shallow", initial, QStateSync::MergeMode::Shallow);
    for (const QString state : {"deep", "shallow"}) {
        auto client = joinedClient("alice", state);
        QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
        client->setValueAt({"doc", "title"}, "changed");
        QVERIFY(acknowledged.wait(Timeout));
        client->setValueAt({"list", "1", "done"}, true);
        QVERIFY(acknowledged.wait(Timeout));
        const QJsonObject value = *m_server->valueOfState(state);
        QCOMPARE(value.value("doc").toObject(), QJsonObject({{"title", "changed"}, {"body", "b"}}));
        QCOMPARE(value.value("list").toArray().at(1).toObject().value("done").toBool(), true);
        QCOMPARE(value.value("list").toArray().at(0).toObject().value("done").toBool(), false);
        QCOMPARE(client->jsonValue(), value);
    }
    auto client = joinedClient("bob", "deep");
    QCOMPARE(client->setValueAt({}, 1), -1);
}

void tst_QStateSyncClient::appendsOfTwoClientsAreBothKept()
{
    createState("chat", QJsonObject{{"chatMessages", QJsonArray()}});
    auto alice = joinedClient("alice", "chat");
    auto bob = joinedClient("bob", "chat");
    QSignalSpy aliceUpdated(alice.get(), &QStateSyncClient::stateUpdated);
    alice->append("chatMessages", QVariantMap{{"content", "from alice"}});
    bob->appendItems("chatMessages", {QVariantMap{{"content", "from bob"}}});
    QTRY_COMPARE(aliceUpdated.count(), 2);
    QTRY_COMPARE(bob->value(), alice->value());
    QCOMPARE(alice->value().value("chatMessages").toList().size(), 2);
    const QVariantList previous = aliceUpdated.at(1).at(1).toMap().value("chatMessages").toList();
    QCOMPARE(previous.size(), 1);
}

void tst_QStateSyncClient::leaveStateAndStateRemoved()
{
    createState("s");
    createState("t");
    auto client = joinedClient("alice", "s");
    QSignalSpy left(client.get(), &QStateSyncClient::left);
    client->leaveState();
    QVERIFY(left.wait(Timeout));
    QCOMPARE(left.at(0).at(0).toString(), QStringLiteral("s"));
    QCOMPARE(client->status(), QStateSyncClient::Connected);
    QVERIFY(m_server->clientsOfState("s").isEmpty());

    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState("t");
    QVERIFY(joined.wait(Timeout));
    QSignalSpy removed(client.get(), &QStateSyncClient::stateRemoved);
    m_server->removeState("t");
    QVERIFY(removed.wait(Timeout));
    QCOMPARE(removed.at(0).at(1).value<QStateSync::RemovalReason>(),
             QStateSync::RemovalReason::Removed);
    QCOMPARE(client->status(), QStateSyncClient::Connected);
    QCOMPARE(client->stateIdentifier(), QString());
}

void tst_QStateSyncClient::v1ModeWithOurServer()
{
    createState("s",
                QJsonObject{{"doc", QJsonObject{{"a", 1}, {"b", 2}}}, {"list", QJsonArray{1}}});
    auto v1 = makeClient("old");
    v1->setRequestedProtocolVersion(QStateSyncClient::ProtocolV1);
    QSignalSpy joined(v1.get(), &QStateSyncClient::joined);
    v1->connectToState("s");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(v1->protocolVersion(), QStateSyncClient::ProtocolV1);
    auto v2 = joinedClient("new", "s");

    QSignalSpy v1Updated(v1.get(), &QStateSyncClient::stateUpdated);
    v2->updateState(QJsonObject{{"doc", QJsonObject{{"a", 10}}}});
    QVERIFY(v1Updated.wait(Timeout));
    QCOMPARE(v1->jsonValue(), *m_server->valueOfState("s"));

    // A v1 client appends by sending the whole array.
    v1->append("list", QVariant(2));
    QVERIFY(v1Updated.wait(Timeout));
    QCOMPARE(v1->jsonValue().value("list").toArray(), QJsonArray({1, 2}));
    QTRY_COMPARE(v2->jsonValue(), *m_server->valueOfState("s"));

    QSignalSpy errors(v1.get(), &QStateSyncClient::errorOccurred);
    v1->leaveState();
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::UnsupportedMessageType);
}

void tst_QStateSyncClient::versionGapTriggersResync()
{
    // A scripted server: it skips versions, as a server that dropped messages for a slow
    // client would, and answers the client's resync with the current value.
    ScriptedServer scripted;
    QList<QJsonObject> &fromClient = scripted.fromClient;
    const auto sendToClient = [&](int type, const QJsonObject &data) { scripted.send(type, data); };

    QStateSyncClient client(scripted.url(), "alice");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    QList<QPair<QVariantMap, QVariantMap>> heard;
    client.addStateUpdateListener("l",
                                  [&](const QVariantMap &updates, const QVariantMap &previous) {
                                      heard.append({updates, previous});
                                  });
    client.connectToState("s");
    QTRY_COMPARE(fromClient.size(), 1);
    sendToClient(7,
                 QJsonObject{{"state", QJsonObject{{"a", 1}, {"b", 1}}},
                             {"stateIdentifier", "s"},
                             {"version", 1}});
    QVERIFY(joined.wait(Timeout));
    sendToClient(3, QJsonObject{{"updates", QJsonObject{{"a", 2}}}, {"version", 2}});
    QTRY_COMPARE(client.version(), 2);
    QCOMPARE(heard.size(), 1);

    sendToClient(3, QJsonObject{{"updates", QJsonObject{{"a", 5}}}, {"version", 5}});
    QTRY_COMPARE(fromClient.size(), 2);
    QCOMPARE(fromClient.at(1).value("type").toInt(), 2);
    QCOMPARE(client.version(), 2); // the out-of-order update was not applied
    sendToClient(7,
                 QJsonObject{{"state", QJsonObject{{"a", 5}, {"c", 1}}},
                             {"stateIdentifier", "s"},
                             {"version", 5}});
    QTRY_COMPARE(client.version(), 5);
    QCOMPARE(client.jsonValue(), QJsonObject({{"a", 5}, {"c", 1}}));
    QCOMPARE(heard.size(), 2);
    QCOMPARE(heard.at(1).first, QVariantMap({{"a", 5}, {"b", QVariant()}, {"c", 1}}));
    QCOMPARE(heard.at(1).second, QVariantMap({{"a", 2}, {"b", 1}, {"c", QVariant()}}));
    QCOMPARE(joined.count(), 1);
}

void tst_QStateSyncClient::pendingUpdateFailsWhenTheConnectionDrops()
{
    createState("s");
    connect(m_server.get(), &QStateSyncer::updateRequested, this,
            [](QStateSyncUpdateRequest *request) { request->defer(); });
    auto client = joinedClient("alice", "s");
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QSignalSpy updateSeen(m_server.get(), &QStateSyncer::updateRequested);
    const qint64 id = client->updateState(QVariantMap{{"a", 1}});
    QVERIFY(updateSeen.wait(Timeout));
    m_server->close();
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::ConnectionLost);
    // The client tries to come back.
    QCOMPARE(client->status(), QStateSyncClient::Reconnecting);
    // Rolled back: nothing shows that the server has not confirmed.
    QCOMPARE(client->value(), QVariantMap());
}

void tst_QStateSyncClient::pendingUpdateFailsWhenTheClientLeaves()
{
    createState("s");
    createState("t");
    QList<QPointer<QStateSyncUpdateRequest>> held;
    connect(m_server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                request->defer();
                held.append(request);
            });
    auto client = joinedClient("alice", "s");
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    const qint64 first = client->updateState(QVariantMap{{"a", 1}});
    QTRY_COMPARE(held.size(), 1);
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState("t");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toLongLong(), first);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::NotJoined);

    const qint64 second = client->updateState(QVariantMap{{"b", 1}});
    QTRY_COMPARE(held.size(), 2);
    QSignalSpy left(client.get(), &QStateSyncClient::left);
    client->leaveState();
    QVERIFY(left.wait(Timeout));
    QCOMPARE(failed.count(), 2);
    QCOMPARE(failed.at(1).at(0).toLongLong(), second);
}

void tst_QStateSyncClient::pendingUpdateFailsWhenTheClientCloses()
{
    createState("s");
    connect(m_server.get(), &QStateSyncer::updateRequested, this,
            [](QStateSyncUpdateRequest *request) { request->defer(); });
    auto client = joinedClient("alice", "s");
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QSignalSpy seen(m_server.get(), &QStateSyncer::updateRequested);
    const qint64 id = client->updateState(QVariantMap{{"a", 1}});
    QVERIFY(seen.wait(Timeout));
    client->close();
    QCOMPARE(failed.count(), 1);
    QCOMPARE(failed.at(0).at(0).toLongLong(), id);
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::ConnectionFailed);
}

void tst_QStateSyncClient::activeOpensFromTheEventLoopAndCloses()
{
    createState("s", QJsonObject{{"a", 1}});
    QStateSyncClient client;
    QSignalSpy activeChanged(&client, &QStateSyncClient::activeChanged);
    client.setActive(true);
    // Set after active, still used: the connection opens from the event loop.
    client.setUrl(urlOf(*m_server));
    client.setClientIdentifier("alice");
    client.setStateIdentifier("s");
    QCOMPARE(client.status(), QStateSyncClient::Unconnected);
    QTRY_COMPARE(client.status(), QStateSyncClient::Joined);
    QCOMPARE(client.value(), QVariantMap({{"a", 1}}));
    client.setActive(false);
    QCOMPARE(client.status(), QStateSyncClient::Unconnected);
    QCOMPARE(activeChanged.count(), 2);
    client.open();
    QVERIFY(client.isActive());
    client.close();
    QVERIFY(!client.isActive());
}

void tst_QStateSyncClient::settingStateIdentifierJoinsMovesAndLeaves()
{
    createState("one", QJsonObject{{"n", 1}});
    createState("two", QJsonObject{{"n", 2}});
    auto client = makeClient("alice");
    client->setStateIdentifier("one");
    QCOMPARE(client->status(), QStateSyncClient::Unconnected); // not active: waits
    client->setActive(true);
    QTRY_COMPARE(client->value().value("n").toInt(), 1);
    client->setStateIdentifier("two");
    QTRY_COMPARE(client->value().value("n").toInt(), 2);
    QCOMPARE(m_server->clientsOfState("two"), QStringList{"alice"});
    QVERIFY(m_server->clientsOfState("one").isEmpty());
    QSignalSpy left(client.get(), &QStateSyncClient::left);
    client->setStateIdentifier(QString());
    QVERIFY(left.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Connected);
}

void tst_QStateSyncClient::changingTheUrlWhileActiveReconnects()
{
    createState("s", QJsonObject{{"server", "first"}});
    QStateSyncer second;
    QVERIFY(second.listen(QHostAddress::LocalHost, 0));
    TestSupport::createState(second, "s", QJsonObject{{"server", "second"}});
    auto client = joinedClient("alice", "s");
    QVERIFY(client->isActive());
    client->setUrl(urlOf(second));
    QTRY_COMPARE(client->value().value("server").toString(), QStringLiteral("second"));
    QCOMPARE(second.clientsOfState("s"), QStringList{"alice"});
    QTRY_VERIFY(m_server->clientsOfState("s").isEmpty());
}

void tst_QStateSyncClient::switchingQuicklyToAStateAndThenAMissingOneKeepsTheRightValue()
{
    createState("a", QJsonObject{{"name", "a"}});
    createState("b", QJsonObject{{"name", "b"}});
    for (int i = 0; i < 3; ++i)
        m_server->updateStateValue("a", QJsonObject{{"step", i}});
    auto client = joinedClient("alice", "a");
    QSignalSpy failed(client.get(), &QStateSyncClient::joinFailed);
    client->connectToState("b");
    client->connectToState("missing");
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(0).toString(), QStringLiteral("missing"));
    // The server put the client in "b": the client says so and holds b's value.
    QCOMPARE(client->stateIdentifier(), QStringLiteral("b"));
    QCOMPARE(client->status(), QStateSyncClient::Joined);
    QCOMPARE(client->jsonValue(), *m_server->valueOfState("b"));
    QCOMPARE(client->version(), 0);
    m_server->updateStateValue("b", QJsonObject{{"later", true}});
    QTRY_COMPARE(client->jsonValue(), *m_server->valueOfState("b"));
}

void tst_QStateSyncClient::switchingQuicklyFromAMissingStateWritesToTheRightOne()
{
    createState("a", QJsonObject{{"name", "a"}});
    createState("b", QJsonObject{{"name", "b"}});
    auto client = joinedClient("alice", "a");
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    QSignalSpy failed(client.get(), &QStateSyncClient::joinFailed);
    client->connectToState("missing");
    client->connectToState("b");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(joined.at(0).at(0).toString(), QStringLiteral("b"));
    QCOMPARE(failed.count(), 1);
    QCOMPARE(client->stateIdentifier(), QStringLiteral("b"));
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QVariantMap{{"written", true}});
    QVERIFY(acknowledged.wait(Timeout));
    QVERIFY(m_server->valueOfState("b")->contains("written"));
    QVERIFY(!m_server->valueOfState("a")->contains("written"));
}

void tst_QStateSyncClient::changesOfTheJoinedStateArriveWhileAnotherJoinWaits()
{
    createState("a", QJsonObject{{"name", "a"}});
    createState("b");
    QPointer<QStateSyncJoinRequest> deferred;
    connect(m_server.get(), &QStateSyncer::joinRequested, this,
            [&](QStateSyncJoinRequest *request) {
                if (request->stateIdentifier() == QLatin1String("b")) {
                    request->defer();
                    deferred = request;
                }
            });
    auto client = joinedClient("alice", "a");
    auto peer = joinedClient("bob", "a");
    QTRY_COMPARE(client->presence()->count(), 2);
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QVariantMap{{"mine", 1}});
    client->connectToState("b");
    QTRY_VERIFY(deferred);
    QVERIFY(acknowledged.count() == 1 || acknowledged.wait(Timeout));
    m_server->updateStateValue("a", QJsonObject{{"meanwhile", 2}});
    peer.reset();
    QTRY_COMPARE(client->presence()->count(), 1);
    QTRY_COMPARE(client->jsonValue(), *m_server->valueOfState("a"));
    deferred->reject();
    QSignalSpy failed(client.get(), &QStateSyncClient::joinFailed);
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Joined);
    QCOMPARE(client->stateIdentifier(), QStringLiteral("a"));
    QCOMPARE(client->jsonValue(), *m_server->valueOfState("a"));
    QCOMPARE(client->version(), m_server->versionOfState("a"));
}

void tst_QStateSyncClient::leavingWhileAJoinWaitsEndsConnected()
{
    createState("a");
    createState("b");
    connect(m_server.get(), &QStateSyncer::joinRequested, this, [](QStateSyncJoinRequest *request) {
        if (request->stateIdentifier() == QLatin1String("b"))
            request->defer();
    });
    auto client = joinedClient("alice", "a");
    QSignalSpy requested(m_server.get(), &QStateSyncer::joinRequested);
    client->connectToState("b");
    QVERIFY(requested.wait(Timeout));
    QSignalSpy left(client.get(), &QStateSyncClient::left);
    client->leaveState();
    QVERIFY(left.wait(Timeout));
    QCOMPARE(client->status(), QStateSyncClient::Connected);
    QVERIFY(m_server->clientsOfState("a").isEmpty());

    // Not joined anywhere, only waiting: leaving withdraws the join, without an error.
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    client->connectToState("b");
    QVERIFY(requested.wait(Timeout));
    client->leaveState();
    QCOMPARE(client->status(), QStateSyncClient::Connected);
    // A join answered after this would show up; a round trip proves nothing more came.
    createState("c");
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState("c");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(errors.count(), 0);
}

void tst_QStateSyncClient::keysQmlReservesDoNotHideTheOthers()
{
    createState("s", QJsonObject{{"keys", 1}, {"title", "hello"}, {"destroyed", true}});
    auto writer = joinedClient("writer", "s");
    auto client = joinedClient("alice", "s");
    QCOMPARE(client->state()->value("title").toString(), QStringLiteral("hello"));
    QCOMPARE(client->value().value("keys").toInt(), 1);
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    writer->updateState(QVariantMap{{"deleteLater", 1}, {"other", 2}});
    QVERIFY(updated.wait(Timeout));
    QCOMPARE(client->state()->value("other").toInt(), 2);
    QCOMPARE(client->value().value("deleteLater").toInt(), 1);
}

void tst_QStateSyncClient::v1ClientCannotClearItsStateIdentifier()
{
    createState("s");
    auto client = makeClient("old");
    client->setRequestedProtocolVersion(QStateSyncClient::ProtocolV1);
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState("s");
    QVERIFY(joined.wait(Timeout));
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    client->setStateIdentifier(QString());
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::UnsupportedMessageType);
    QCOMPARE(client->stateIdentifier(), QStringLiteral("s"));
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    m_server->updateStateValue("s", QJsonObject{{"still", "here"}});
    QVERIFY(updated.wait(Timeout));
}

void tst_QStateSyncClient::wssWithTrustedCertificate()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("This Qt has no TLS backend");
    QTemporaryDir dir;
    const Certificate certificate = makeSelfSignedCertificate(dir);
    QVERIFY2(certificate.error.isEmpty(), qPrintable(certificate.error));
    QStateSyncer secure;
    QVERIFY(secure.setCertificateFiles(certificate.certificateFile, certificate.keyFile));
    QVERIFY(secure.listen(QHostAddress::LocalHost, 0));
    QStateSyncStateOptions options;
    options.setIdentifier("s");
    options.setInitialValue(QJsonObject{{"secure", true}});
    secure.createState(options);

    QStateSyncClient client(urlOf(secure), "alice");
    client.setSslConfiguration(certificate.trustingClientConfiguration);
    QCOMPARE(client.sslConfiguration(), certificate.trustingClientConfiguration);
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("s");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client.value().value("secure").toBool(), true);

    QStateSyncClient untrusting(urlOf(secure), "bob");
    QSignalSpy errors(&untrusting, &QStateSyncClient::errorOccurred);
    untrusting.open();
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::ConnectionFailed);
}

QTEST_GUILESS_MAIN(tst_QStateSyncClient)
#include "tst_qstatesyncclient.moc"
