// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Presence: who is joined to a state, what the server shows of them, and what they say
// about themselves, kept live in every client's model.

#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncClient>
#include <QStateSyncJoinRequest>
#include <QStateSyncPresenceModel>
#include <QStateSyncer>

#include <QtTest/qabstractitemmodeltester.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

class tst_Presence : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void joinedClientsSeeEachOther();
    void publicInformationComesFromTheHooks();
    void presenceDataReachesEveryone();
    void presenceDataSetBeforeJoiningIsSentOnJoin();
    void leavingAndDroppingRemovePresence();
    void oneClientInTwoWindowsIsTwoRows();
    void removedStateEmptiesTheModel();
    void wireShapes();
    void v1ClientsAreListedButNotTold();

private:
    std::unique_ptr<QStateSyncer> m_server;
};

void tst_Presence::init()
{
    m_server = startServer();
    createState(*m_server, "room");
    createState(*m_server, "other");
    // Everyone is shown with a display name derived from the identifier.
    connect(m_server.get(), &QStateSyncer::joinRequested, this, [](QStateSyncJoinRequest *request) {
        QVariantMap information = request->publicInformation();
        information.insert("name", request->clientIdentifier().toUpper());
        request->setPublicInformation(information);
    });
}

void tst_Presence::cleanup()
{
    m_server.reset();
}

void tst_Presence::joinedClientsSeeEachOther()
{
    auto alice = joinedClient(*m_server, "alice", "room");
    QStateSyncPresenceModel *model = alice->presence();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(model->count(), 1);
    QCOMPARE(model->get(0).value("isSelf").toBool(), true);
    QCOMPARE(model->get(0).value("presenceId").toLongLong(), model->selfId());

    QSignalSpy joined(alice.get(), &QStateSyncClient::peerJoined);
    auto bob = joinedClient(*m_server, "bob", "room");
    QTRY_COMPARE(joined.count(), 1);
    const QVariantMap peer = joined.at(0).at(0).toMap();
    QCOMPARE(peer.value("clientIdentifier").toString(), QStringLiteral("bob"));
    QCOMPARE(peer.value("information").toMap().value("name").toString(), QStringLiteral("BOB"));
    QCOMPARE(peer.value("isSelf").toBool(), false);
    QCOMPARE(model->count(), 2);
    QCOMPARE(model->data(model->index(1), Qt::DisplayRole).toString(), QStringLiteral("bob"));
    QCOMPARE(model->data(model->index(1), QStateSyncPresenceModel::InformationRole)
                     .toMap()
                     .value("name")
                     .toString(),
             QStringLiteral("BOB"));

    // Bob sees alice, who was there first, and himself.
    QCOMPARE(bob->presence()->count(), 2);
    QCOMPARE(bob->presence()->get(0).value("clientIdentifier").toString(), QStringLiteral("alice"));
    QCOMPARE(bob->presence()->get(1).value("isSelf").toBool(), true);
    QVERIFY(bob->presence()->selfId() != model->selfId());
    QCOMPARE(m_server->presenceOfState("room").size(), 2);
}

void tst_Presence::publicInformationComesFromTheHooks()
{
    QStateSyncer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    createState(server, "room");
    connect(&server, &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                request->setPublicInformation({{"avatar", "cat.png"}});
                request->accept({{"secret", "not shown"}});
            });
    connect(&server, &QStateSyncer::joinRequested, this, [](QStateSyncJoinRequest *request) {
        QCOMPARE(request->publicInformation().value("avatar").toString(),
                 QStringLiteral("cat.png"));
        if (request->clientIdentifier() == QLatin1String("bob"))
            request->setPublicInformation({{"avatar", "dog.png"}});
    });
    auto alice = joinedClient(server, "alice", "room");
    auto bob = joinedClient(server, "bob", "room");
    QTRY_COMPARE(alice->presence()->count(), 2);
    QCOMPARE(alice->presence()->get(0).value("information").toMap(),
             QVariantMap({{"avatar", "cat.png"}}));
    QCOMPARE(alice->presence()->get(1).value("information").toMap(),
             QVariantMap({{"avatar", "dog.png"}}));
    // Client information never travels.
    for (const QJsonValue &entry : server.presenceOfState("room"))
        QVERIFY(!QJsonDocument(entry.toObject()).toJson().contains("not shown"));
}

void tst_Presence::presenceDataReachesEveryone()
{
    auto alice = joinedClient(*m_server, "alice", "room");
    auto bob = joinedClient(*m_server, "bob", "room");
    QTRY_COMPARE(alice->presence()->count(), 2);
    QSignalSpy aliceHeard(alice.get(), &QStateSyncClient::peerChanged);
    QSignalSpy bobHeard(bob.get(), &QStateSyncClient::peerChanged);
    QSignalSpy dataChanged(alice->presence(), &QAbstractItemModel::dataChanged);
    QSignalSpy presenceDataChanged(bob.get(), &QStateSyncClient::presenceDataChanged);

    bob->setPresenceData({{"typing", true}, {"cursor", 12}});
    QCOMPARE(presenceDataChanged.count(), 1);
    QCOMPARE(bob->presenceData().value("cursor").toInt(), 12);
    QVERIFY(aliceHeard.wait(Timeout));
    QCOMPARE(aliceHeard.at(0).at(0).toMap().value("presenceData").toMap().value("typing").toBool(),
             true);
    QCOMPARE(dataChanged.count(), 1);
    QCOMPARE(alice->presence()
                     ->data(alice->presence()->index(1), QStateSyncPresenceModel::PresenceDataRole)
                     .toMap()
                     .value("cursor")
                     .toInt(),
             12);
    QTRY_COMPARE(bobHeard.count(), 1); // the sender's own row changes too
    QCOMPARE(m_server->presenceOfState("room").at(1).toObject().value("data").toObject(),
             QJsonObject({{"typing", true}, {"cursor", 12}}));
}

void tst_Presence::presenceDataSetBeforeJoiningIsSentOnJoin()
{
    auto alice = joinedClient(*m_server, "alice", "room");
    QStateSyncClient bob(urlOf(*m_server), "bob");
    bob.setPresenceData({{"status", "away"}});
    QSignalSpy heard(alice.get(), &QStateSyncClient::peerChanged);
    bob.connectToState("room");
    QVERIFY(heard.wait(Timeout));
    QCOMPARE(heard.at(0).at(0).toMap().value("presenceData").toMap().value("status").toString(),
             QStringLiteral("away"));

    // Moving to another state takes the presence data along.
    auto carol = joinedClient(*m_server, "carol", "other");
    QSignalSpy carolHeard(carol.get(), &QStateSyncClient::peerChanged);
    bob.connectToState("other");
    QVERIFY(carolHeard.wait(Timeout));
    QCOMPARE(carol->presence()->get(1).value("presenceData").toMap().value("status").toString(),
             QStringLiteral("away"));
    QTRY_COMPARE(alice->presence()->count(), 1);
}

void tst_Presence::leavingAndDroppingRemovePresence()
{
    auto alice = joinedClient(*m_server, "alice", "room");
    auto bob = joinedClient(*m_server, "bob", "room");
    auto carol = joinedClient(*m_server, "carol", "room");
    QTRY_COMPARE(alice->presence()->count(), 3);
    QSignalSpy left(alice.get(), &QStateSyncClient::peerLeft);

    bob->leaveState();
    QVERIFY(left.wait(Timeout));
    QCOMPARE(left.at(0).at(0).toMap().value("clientIdentifier").toString(), QStringLiteral("bob"));
    // Bob's own answer comes on another connection, in no set order with Alice's news.
    QTRY_COMPARE(bob->presence()->count(), 0);

    carol.reset(); // the connection drops
    QVERIFY(left.wait(Timeout));
    QCOMPARE(left.at(1).at(0).toMap().value("clientIdentifier").toString(),
             QStringLiteral("carol"));
    QCOMPARE(alice->presence()->count(), 1);
    QCOMPARE(m_server->presenceOfState("room").size(), 1);

    alice->close();
    QCOMPARE(alice->presence()->count(), 0);
    QCOMPARE(alice->presence()->selfId(), -1);
}

void tst_Presence::oneClientInTwoWindowsIsTwoRows()
{
    auto first = joinedClient(*m_server, "alice", "room");
    auto second = joinedClient(*m_server, "alice", "room");
    QTRY_COMPARE(first->presence()->count(), 2);
    QCOMPARE(first->presence()->get(0).value("clientIdentifier"),
             first->presence()->get(1).value("clientIdentifier"));
    QVERIFY(first->presence()->get(0).value("presenceId")
            != first->presence()->get(1).value("presenceId"));
}

void tst_Presence::removedStateEmptiesTheModel()
{
    auto alice = joinedClient(*m_server, "alice", "room");
    QSignalSpy removed(alice.get(), &QStateSyncClient::stateRemoved);
    m_server->removeState("room");
    QVERIFY(removed.wait(Timeout));
    QCOMPARE(alice->presence()->count(), 0);
}

void tst_Presence::wireShapes()
{
    RawClient alice;
    QVERIFY(alice.open(urlOf(*m_server), "alice"));
    alice.send(26, QJsonObject{{"presence", QJsonObject{{"x", 1}}}});
    QCOMPARE(alice.takeData(25).value("code").toString(), QStringLiteral("not_joined"));

    const QJsonObject established = alice.joinAndWait("room");
    const qint64 aliceId = established.value("presenceId").toInteger();
    QVERIFY(aliceId > 0);
    QCOMPARE(established.value("presence").toArray(),
             QJsonArray({QJsonObject{{"id", aliceId},
                                     {"clientIdentifier", "alice"},
                                     {"information", QJsonObject{{"name", "ALICE"}}},
                                     {"data", QJsonObject()}}}));

    RawClient bob;
    QVERIFY(bob.open(urlOf(*m_server), "bob"));
    const qint64 bobId = bob.joinAndWait("room").value("presenceId").toInteger();
    const QJsonObject joined = alice.takeData(27);
    QCOMPARE(joined.value("event").toString(), QStringLiteral("joined"));
    QCOMPARE(joined.value("presence").toObject().value("id").toInteger(), bobId);

    bob.send(26, QJsonObject{{"presence", QJsonObject{{"typing", true}}}});
    const QJsonObject changed = alice.takeData(27);
    QCOMPARE(changed.value("event").toString(), QStringLiteral("changed"));
    QCOMPARE(changed.value("presence").toObject().value("data").toObject(),
             QJsonObject({{"typing", true}}));
    QCOMPARE(bob.takeData(27).value("event").toString(), QStringLiteral("changed"));

    bob.send(26, QJsonObject{{"presence", "not an object"}});
    QCOMPARE(bob.takeData(25).value("code").toString(), QStringLiteral("invalid_message"));

    bob.send(21, QJsonValue::Null);
    const QJsonObject left = alice.takeData(27);
    QCOMPARE(left.value("event").toString(), QStringLiteral("left"));
    QCOMPARE(left.value("presence").toObject().value("id").toInteger(), bobId);
}

void tst_Presence::v1ClientsAreListedButNotTold()
{
    RawClient old(RawClient::V1);
    QVERIFY(old.open(urlOf(*m_server), "old"));
    const QJsonObject established = old.joinAndWait("room");
    QVERIFY(!established.contains("presence"));
    auto alice = joinedClient(*m_server, "alice", "room");
    QCOMPARE(alice->presence()->count(), 2);
    QCOMPARE(alice->presence()->get(0).value("clientIdentifier").toString(), QStringLiteral("old"));
    alice->setPresenceData({{"here", true}});
    alice->updateState(QVariantMap{{"after", 1}});
    QVERIFY(!old.take(3).isEmpty()); // the update arrived; no presence message came before it
    for (const QJsonObject &message : std::as_const(old.received))
        QVERIFY(message.value("type").toInt() != 27);
}

QTEST_GUILESS_MAIN(tst_Presence)
#include "tst_presence.moc"
