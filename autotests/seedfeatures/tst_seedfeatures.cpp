// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// One test per feature sentence of the server-state-sync README, named after it: the
// proof that QStateSync covers everything the original offers, with real sockets.

#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qtemporarydir.h>
#include <QtCore/qtimer.h>
#include <QtCore/quuid.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

class tst_SeedFeatures : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void changesAreBroadcastedToAllOtherClientsConnectedToThatState();
    void minimalConfiguration();
    void creatingANewState();
    void generatedIdentifierWhenNoneIsGiven();
    void nullIsReturnedWhenAStateWithTheSameIdentifierExists();
    void creatingANewStateWithCustomIdentifier();
    void creatingANewStateWithInitialValue();
    void removeStatesReturnsTrueIfDeletedFalseIfItDidNotExist();
    void removeAllStates();
    void getTheValueOfAStateUndefinedIfNoStateMatches();
    void byDefaultAStateWillNeverBeDestroyed();
    void selfDestructWhenNoClientsAreConnected();
    void selfDestructAfterTimeSinceCreation();
    void selfDestructIsCalledEveryTimeAClientDisconnects();
    void ttlGivesAStateAFixedNumberOfMillisecondsToLive();
    void connectClientToStateSyncer();
    void connectAClientToAStateSyncerState();
    void updateStateProperty();
    void updateNestedStateProperty();
    void eachStateUpdateIsSentToTheStateSyncerAndBroadcast();
    void listenToStateUpdates();
    void multipleListenersListenToSpecificProperties();
    void twoListenersWithTheSameIdentifierOnlyTheLatestIsUsed();
    void removeStateUpdateListener();
    void getEntireState();
    void errorHandling();
    void authorizationMiddlewareRunsEveryTimeAClientConnects();
    void allowClientToConnectToState();
    void interceptStateChanges();
    void interceptReturningNullStoresAndBroadcastsNothing();
    void updateStatesServerSide();
    void makeStateSyncerRunInSslMode();
    void fullExample();

private:
    std::unique_ptr<QStateSyncClient> joinedClient(const QString &identifier, const QString &state,
                                                   const QString &token = QString())
    {
        return TestSupport::joinedClient(*m_syncer, identifier, state, token);
    }
    std::unique_ptr<QStateSyncer> m_syncer;
};

void tst_SeedFeatures::init()
{
    m_syncer = std::make_unique<QStateSyncer>();
    QVERIFY(m_syncer->listen(QHostAddress::LocalHost, 0));
}

void tst_SeedFeatures::cleanup()
{
    m_syncer.reset();
}

namespace {
QStateSyncStateOptions optionsWith(const QString &identifier,
                                   const QJsonObject &initialValue = QJsonObject())
{
    QStateSyncStateOptions options;
    options.setIdentifier(identifier);
    options.setInitialValue(initialValue);
    return options;
}
} // namespace

void tst_SeedFeatures::changesAreBroadcastedToAllOtherClientsConnectedToThatState()
{
    m_syncer->createState(optionsWith("abc"));
    m_syncer->createState(optionsWith("other"));
    auto writer = joinedClient("writer", "abc");
    auto reader1 = joinedClient("reader1", "abc");
    auto reader2 = joinedClient("reader2", "abc");
    auto outsider = joinedClient("outsider", "other");
    QSignalSpy outsiderUpdated(outsider.get(), &QStateSyncClient::stateUpdated);
    writer->updateState(QVariantMap{{"property", "new value"}});
    QTRY_COMPARE(reader1->value().value("property").toString(), QStringLiteral("new value"));
    QTRY_COMPARE(reader2->value().value("property").toString(), QStringLiteral("new value"));
    QTRY_COMPARE(writer->value().value("property").toString(), QStringLiteral("new value"));
    QCOMPARE(outsiderUpdated.count(), 0);
    QVERIFY(outsider->value().isEmpty());
}

void tst_SeedFeatures::minimalConfiguration()
{
    QStateSyncer stateSyncer;
    QVERIFY(stateSyncer.listen(QHostAddress::LocalHost, 0));
    QVERIFY(stateSyncer.isListening());
    QStateSyncClient client(urlOf(stateSyncer), "clientIdentifier");
    QSignalSpy connected(&client, &QStateSyncClient::connected);
    client.open();
    QVERIFY(connected.wait(Timeout));
}

void tst_SeedFeatures::creatingANewState()
{
    const QString identifier = m_syncer->createState();
    QVERIFY(!identifier.isEmpty());
    QVERIFY(m_syncer->hasState(identifier));
    auto client = joinedClient("c", identifier);
    QCOMPARE(client->status(), QStateSyncClient::Joined);
}

void tst_SeedFeatures::generatedIdentifierWhenNoneIsGiven()
{
    const QString first = m_syncer->createState();
    const QString second = m_syncer->createState();
    QVERIFY(!QUuid::fromString(first).isNull());
    QVERIFY(first != second);
}

void tst_SeedFeatures::nullIsReturnedWhenAStateWithTheSameIdentifierExists()
{
    QCOMPARE(m_syncer->createState(optionsWith("abc")), QStringLiteral("abc"));
    QVERIFY(m_syncer->createState(optionsWith("abc")).isNull());
}

void tst_SeedFeatures::creatingANewStateWithCustomIdentifier()
{
    QCOMPARE(m_syncer->createState(optionsWith("abc")), QStringLiteral("abc"));
    QCOMPARE(m_syncer->stateIdentifiers(), QStringList{"abc"});
}

void tst_SeedFeatures::creatingANewStateWithInitialValue()
{
    QStateSyncStateOptions options;
    options.setInitialValue(QVariantMap{{"property", "value"}});
    const QString identifier = m_syncer->createState(options);
    QCOMPARE(*m_syncer->valueOfState(identifier), QJsonObject({{"property", "value"}}));
    auto client = joinedClient("c", identifier);
    QCOMPARE(client->value(), QVariantMap({{"property", "value"}}));
}

void tst_SeedFeatures::removeStatesReturnsTrueIfDeletedFalseIfItDidNotExist()
{
    m_syncer->createState(optionsWith("stateIdentifier"));
    QVERIFY(m_syncer->removeState("stateIdentifier"));
    QVERIFY(!m_syncer->removeState("stateIdentifier"));
    QVERIFY(!m_syncer->hasState("stateIdentifier"));
}

void tst_SeedFeatures::removeAllStates()
{
    m_syncer->createState(optionsWith("a"));
    m_syncer->createState(optionsWith("b"));
    m_syncer->removeAllStates();
    QVERIFY(m_syncer->stateIdentifiers().isEmpty());
}

void tst_SeedFeatures::getTheValueOfAStateUndefinedIfNoStateMatches()
{
    m_syncer->createState(optionsWith("stateIdentifier", QJsonObject{{"a", 1}}));
    QCOMPARE(m_syncer->valueOfState("stateIdentifier"), std::optional(QJsonObject{{"a", 1}}));
    QCOMPARE(m_syncer->valueOfState("nothing"), std::nullopt);
}

void tst_SeedFeatures::byDefaultAStateWillNeverBeDestroyed()
{
    m_syncer->createState(optionsWith("forever"));
    for (int i = 0; i < 3; ++i) {
        auto client = joinedClient(QStringLiteral("c%1").arg(i), "forever");
        client->close();
    }
    QTRY_COMPARE(m_syncer->clientCount(), 0);
    QVERIFY(m_syncer->hasState("forever"));
}

void tst_SeedFeatures::selfDestructWhenNoClientsAreConnected()
{
    QStateSyncStateOptions options = optionsWith("room");
    options.setSelfDestruct(
            [](int numberOfClientsLeft, const QDateTime &) { return numberOfClientsLeft == 0; });
    m_syncer->createState(options);
    auto first = joinedClient("first", "room");
    auto second = joinedClient("second", "room");
    first->close();
    QTRY_COMPARE(m_syncer->clientsOfState("room"), QStringList{"second"});
    QVERIFY(m_syncer->hasState("room"));
    second->close();
    QTRY_VERIFY(!m_syncer->hasState("room"));
}

void tst_SeedFeatures::selfDestructAfterTimeSinceCreation()
{
    QStateSyncStateOptions options = optionsWith("old");
    // The README's example removes a state older than an hour; pretend the clock moved.
    const QDateTime inTwoHours = QDateTime::currentDateTime().addSecs(2 * 3600);
    options.setSelfDestruct([&](int, const QDateTime &timeOfCreation) {
        return timeOfCreation.msecsTo(inTwoHours) > 1000 * 60 * 60;
    });
    m_syncer->createState(options);
    auto client = joinedClient("c", "old");
    auto other = joinedClient("d", "old");
    client->close();
    QTRY_VERIFY(!m_syncer->hasState("old"));
}

void tst_SeedFeatures::selfDestructIsCalledEveryTimeAClientDisconnects()
{
    int calls = 0;
    QStateSyncStateOptions options = optionsWith("room");
    options.setSelfDestruct([&](int, const QDateTime &) {
        ++calls;
        return false;
    });
    m_syncer->createState(options);
    for (int i = 0; i < 3; ++i) {
        auto client = joinedClient(QStringLiteral("c%1").arg(i), "room");
        client->close();
        QTRY_COMPARE(calls, i + 1);
    }
}

void tst_SeedFeatures::ttlGivesAStateAFixedNumberOfMillisecondsToLive()
{
    QStateSyncStateOptions options = optionsWith("short");
    options.setTtl(std::chrono::milliseconds(150));
    m_syncer->createState(options);
    auto client = joinedClient("c", "short");
    QSignalSpy removed(client.get(), &QStateSyncClient::stateRemoved);
    QVERIFY(removed.wait(Timeout));
    QCOMPARE(removed.at(0).at(1).value<QStateSync::RemovalReason>(),
             QStateSync::RemovalReason::Ttl);
    QVERIFY(!m_syncer->hasState("short"));
}

void tst_SeedFeatures::connectClientToStateSyncer()
{
    QString seenToken;
    connect(m_syncer.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) { seenToken = request->token(); });
    QStateSyncClient client(urlOf(*m_syncer), "clientIdentifier", "accessToken");
    QSignalSpy connected(&client, &QStateSyncClient::connected);
    client.open();
    QVERIFY(connected.wait(Timeout));
    QCOMPARE(seenToken, QStringLiteral("accessToken"));
    QCOMPARE(client.status(), QStateSyncClient::Connected);
}

void tst_SeedFeatures::connectAClientToAStateSyncerState()
{
    m_syncer->createState(optionsWith("stateIdentifier", QJsonObject{{"x", 1}}));
    QStateSyncClient client(urlOf(*m_syncer), "clientIdentifier");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("stateIdentifier");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(joined.at(0).at(1).toMap(), QVariantMap({{"x", 1}}));
}

void tst_SeedFeatures::updateStateProperty()
{
    m_syncer->createState(optionsWith("s", QJsonObject{{"property", "value"}}));
    auto client = joinedClient("c", "s");
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QVariantMap{{"property", "new value"}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(m_syncer->valueOfState("s")->value("property").toString(),
             QStringLiteral("new value"));
}

void tst_SeedFeatures::updateNestedStateProperty()
{
    // QStateSync merges nested objects (RFC 7386); Shallow mode keeps the original's
    // replacement of the whole top-level property.
    const QJsonObject initial{{"property", QJsonObject{{"other", 1}}}};
    m_syncer->createState(optionsWith("deep", initial));
    QStateSyncStateOptions shallow = optionsWith("shallow", initial);
    shallow.setMergeMode(QStateSync::MergeMode::Shallow);
    m_syncer->createState(shallow);
    for (const QString state : {"deep", "shallow"}) {
        auto client = joinedClient("c", state);
        QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
        client->updateState(QVariantMap{{"property", QVariantMap{{"nestedProperty", "value"}}}});
        QVERIFY(acknowledged.wait(Timeout));
        QCOMPARE(client->jsonValue(), *m_syncer->valueOfState(state));
    }
    QCOMPARE(m_syncer->valueOfState("deep")->value("property").toObject(),
             QJsonObject({{"other", 1}, {"nestedProperty", "value"}}));
    QCOMPARE(m_syncer->valueOfState("shallow")->value("property").toObject(),
             QJsonObject({{"nestedProperty", "value"}}));
}

void tst_SeedFeatures::eachStateUpdateIsSentToTheStateSyncerAndBroadcast()
{
    m_syncer->createState(optionsWith("s"));
    QSignalSpy serverUpdated(m_syncer.get(), &QStateSyncer::stateUpdated);
    auto a = joinedClient("a", "s");
    auto b = joinedClient("b", "s");
    for (int i = 0; i < 5; ++i)
        a->updateState(QVariantMap{{"n", i}});
    QTRY_COMPARE(b->version(), 5);
    QCOMPARE(serverUpdated.count(), 5);
    QCOMPARE(b->value().value("n").toInt(), 4);
}

void tst_SeedFeatures::listenToStateUpdates()
{
    m_syncer->createState(optionsWith("s", QJsonObject{{"property", "old"}}));
    auto writer = joinedClient("w", "s");
    auto client = joinedClient("c", "s");
    QList<QPair<QVariantMap, QVariantMap>> calls;
    client->addStateUpdateListener(
            "listenerIdentifier",
            [&](const QVariantMap &newUpdates,
                const QVariantMap &previousValuesOfUpdatedProperties) {
                calls.append({newUpdates, previousValuesOfUpdatedProperties});
            },
            {"property"});
    writer->updateState(QVariantMap{{"property", "new"}});
    QTRY_COMPARE(calls.size(), 1);
    QCOMPARE(calls.at(0).first, QVariantMap({{"property", "new"}}));
    QCOMPARE(calls.at(0).second, QVariantMap({{"property", "old"}}));
}

void tst_SeedFeatures::multipleListenersListenToSpecificProperties()
{
    m_syncer->createState(optionsWith("s"));
    auto writer = joinedClient("w", "s");
    auto client = joinedClient("c", "s");
    QStringList heard;
    client->addStateUpdateListener(
            "a", [&](const QVariantMap &, const QVariantMap &) { heard.append("a"); }, {"a"});
    client->addStateUpdateListener(
            "b", [&](const QVariantMap &, const QVariantMap &) { heard.append("b"); }, {"b"});
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    writer->updateState(QVariantMap{{"a", 1}});
    QVERIFY(updated.wait(Timeout));
    writer->updateState(QVariantMap{{"b", 1}});
    QVERIFY(updated.wait(Timeout));
    writer->updateState(QVariantMap{{"a", 2}, {"b", 2}});
    QVERIFY(updated.wait(Timeout));
    QCOMPARE(heard, QStringList({"a", "b", "a", "b"}));
}

void tst_SeedFeatures::twoListenersWithTheSameIdentifierOnlyTheLatestIsUsed()
{
    m_syncer->createState(optionsWith("s"));
    auto client = joinedClient("c", "s");
    int first = 0;
    int latest = 0;
    client->addStateUpdateListener("same",
                                   [&](const QVariantMap &, const QVariantMap &) { ++first; });
    client->addStateUpdateListener("same",
                                   [&](const QVariantMap &, const QVariantMap &) { ++latest; });
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QVariantMap{{"x", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    // Called once: when the update showed (optimistically); the echo changed nothing.
    QCOMPARE(first, 0);
    QCOMPARE(latest, 1);
}

void tst_SeedFeatures::removeStateUpdateListener()
{
    m_syncer->createState(optionsWith("s"));
    auto client = joinedClient("c", "s");
    int calls = 0;
    client->addStateUpdateListener("l", [&](const QVariantMap &, const QVariantMap &) { ++calls; });
    QVERIFY(client->removeStateUpdateListener("l"));
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QVariantMap{{"x", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(updated.count(), 1);
    QCOMPARE(calls, 0);
}

void tst_SeedFeatures::getEntireState()
{
    m_syncer->createState(optionsWith("s", QJsonObject{{"a", 1}, {"b", QJsonArray{1, 2}}}));
    auto client = joinedClient("c", "s");
    QCOMPARE(client->value(), m_syncer->valueOfState("s")->toVariantMap());
    QCOMPARE(client->jsonValue(), *m_syncer->valueOfState("s"));
}

void tst_SeedFeatures::errorHandling()
{
    auto client = std::make_unique<QStateSyncClient>(urlOf(*m_syncer), "c");
    QSignalSpy errors(client.get(), &QStateSyncClient::errorOccurred);
    client->connectToState("does-not-exist");
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(errors.at(0).at(0).value<QStateSync::Error>(), QStateSync::Error::StateNotFound);
    QVERIFY(!errors.at(0).at(1).toString().isEmpty());
}

void tst_SeedFeatures::authorizationMiddlewareRunsEveryTimeAClientConnects()
{
    int runs = 0;
    m_syncer->useAuthorizationMiddleware([&](QStateSyncAuthorizationRequest *request,
                                             const QStateSyncer::AuthorizationCallback &callback) {
        ++runs;
        const QString token = request->token();
        if (token == QLatin1String("valid"))
            callback({{"permissions", QStringList{"somePermission"}}}, true);
        else
            callback({}, false);
    });
    QVariantMap information;
    connect(m_syncer.get(), &QStateSyncer::clientJoined, this,
            [&](const QString &, const QString &, const QVariantMap &clientInformation) {
                information = clientInformation;
            });
    m_syncer->createState(optionsWith("s"));
    auto good = joinedClient("good", "s", "valid");
    QCOMPARE(information.value("permissions").toStringList(), QStringList{"somePermission"});
    QStateSyncClient bad(urlOf(*m_syncer), "bad", "invalid");
    QSignalSpy errors(&bad, &QStateSyncClient::errorOccurred);
    bad.open();
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(errors.at(0).at(0).value<QStateSync::Error>(), QStateSync::Error::Unauthorized);
    QCOMPARE(runs, 2);
}

void tst_SeedFeatures::allowClientToConnectToState()
{
    connect(m_syncer.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                request->accept(
                        {{"permissions",
                          request->token() == QLatin1String("yes") ? QStringList{"somePermission"}
                                                                   : QStringList()}});
            });
    // The original tells a refused client that the state exists; QStateSyncer hides it
    // unless asked not to.
    m_syncer->setRevealStateExistence(true);
    QStateSyncStateOptions options = optionsWith("s");
    options.setAllowConnectingClient([](const QVariantMap &clientInformation) {
        return clientInformation.value("permissions").toStringList().contains("somePermission");
    });
    m_syncer->createState(options);
    auto allowed = joinedClient("allowed", "s", "yes");
    QCOMPARE(allowed->status(), QStateSyncClient::Joined);
    QStateSyncClient refused(urlOf(*m_syncer), "refused", "no");
    QSignalSpy failed(&refused, &QStateSyncClient::joinFailed);
    refused.connectToState("s");
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(1).value<QStateSync::Error>(), QStateSync::Error::JoinRefused);
}

void tst_SeedFeatures::interceptStateChanges()
{
    QStateSyncStateOptions options = optionsWith("s");
    options.setInterceptStateUpdate([](const QJsonObject &updates, const QVariantMap &) {
        QJsonObject modified = updates;
        modified.insert("validated", true);
        return std::optional(modified);
    });
    m_syncer->createState(options);
    auto client = joinedClient("c", "s");
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    client->updateState(QVariantMap{{"text", "hi"}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(client->value(), QVariantMap({{"text", "hi"}, {"validated", true}}));
}

void tst_SeedFeatures::interceptReturningNullStoresAndBroadcastsNothing()
{
    QStateSyncStateOptions options = optionsWith("s");
    options.setInterceptStateUpdate(
            [](const QJsonObject &, const QVariantMap &) { return std::optional<QJsonObject>(); });
    m_syncer->createState(options);
    auto sender = joinedClient("sender", "s");
    auto other = joinedClient("other", "s");
    QSignalSpy otherUpdated(other.get(), &QStateSyncClient::stateUpdated);
    QSignalSpy failed(sender.get(), &QStateSyncClient::updateFailed);
    sender->updateState(QVariantMap{{"x", 1}});
    QVERIFY(failed.wait(Timeout)); // the original told the sender nothing
    QCOMPARE(*m_syncer->valueOfState("s"), QJsonObject());
    QCOMPARE(m_syncer->versionOfState("s"), 0);
    QCOMPARE(otherUpdated.count(), 0);
}

void tst_SeedFeatures::updateStatesServerSide()
{
    QVariantMap intercepted;
    QStateSyncStateOptions options = optionsWith("stateIdentifier");
    options.setInterceptStateUpdate(
            [&](const QJsonObject &updates, const QVariantMap &information) {
                intercepted = information;
                return std::optional(updates);
            });
    m_syncer->createState(options);
    auto client = joinedClient("c", "stateIdentifier");
    QSignalSpy updated(client.get(), &QStateSyncClient::stateUpdated);
    QVERIFY(m_syncer->updateStateValue("stateIdentifier", QJsonObject{{"a", 1}},
                                       {{"server", true}}));
    QVERIFY(updated.wait(Timeout));
    QCOMPARE(intercepted.value("server").toBool(), true);
    QVERIFY(m_syncer->updateStateValue("stateIdentifier", QJsonObject{{"b", 2}}));
    QVERIFY(updated.wait(Timeout));
    QVERIFY(intercepted.isEmpty()); // clientInformation is optional
    QCOMPARE(client->value(), QVariantMap({{"a", 1}, {"b", 2}}));
}

void tst_SeedFeatures::makeStateSyncerRunInSslMode()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("This Qt has no TLS backend");
    QTemporaryDir dir;
    const Certificate certificate = makeSelfSignedCertificate(dir);
    QVERIFY2(certificate.error.isEmpty(), qPrintable(certificate.error));
    QStateSyncer stateSyncer;
    QVERIFY(stateSyncer.setCertificateFiles(certificate.certificateFile, certificate.keyFile));
    QVERIFY(stateSyncer.listen(QHostAddress::LocalHost, 0));
    QVERIFY(stateSyncer.isSecure());
    stateSyncer.createState(optionsWith("s", QJsonObject{{"tls", true}}));
    QStateSyncClient client(urlOf(stateSyncer), "c");
    client.setSslConfiguration(certificate.trustingClientConfiguration);
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("s");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(client.value().value("tls").toBool(), true);
}

void tst_SeedFeatures::fullExample()
{
    // Server side, as in the README's full example.
    m_syncer->useAuthorizationMiddleware([](QStateSyncAuthorizationRequest *request,
                                            const QStateSyncer::AuthorizationCallback &callback) {
        const QString token = request->token();
        QTimer::singleShot(0, [token, callback] {
            if (token.startsWith(QLatin1String("token-for-")))
                callback({{"email", token.mid(10)}}, true);
            else
                callback({}, false);
        });
    });
    QStateSyncStateOptions options
            = optionsWith("myGroupChat", QJsonObject{{"chatMessages", QJsonArray()}});
    options.setAllowConnectingClient([](const QVariantMap &clientInformation) {
        return clientInformation.value("email").toString().endsWith(QLatin1String("@example.com"));
    });
    options.setSelfDestruct(
            [](int numberOfClients, const QDateTime &) { return numberOfClients == 0; });
    m_syncer->createState(options);

    // Client side: a chat widget's client.
    auto alice = joinedClient("alice", "myGroupChat", "token-for-alice@example.com");
    auto bob = joinedClient("bob", "myGroupChat", "token-for-bob@example.com");
    QVariantList aliceMessages = alice->value().value("chatMessages").toList();
    alice->addStateUpdateListener("client",
                                  [&](const QVariantMap &updates, const QVariantMap &) {
                                      aliceMessages = updates.value("chatMessages").toList();
                                  },
                                  {"chatMessages"});

    // The README sends the whole array; two messages sent at once would lose one there.
    // QStateSync's append keeps both.
    alice->append("chatMessages", QVariantMap{{"content", "This is a new message"}});
    bob->append("chatMessages", QVariantMap{{"content", "And another one"}});
    QTRY_COMPARE(aliceMessages.size(), 2);
    QTRY_COMPARE(bob->value(), alice->value());

    auto stranger = std::make_unique<QStateSyncClient>(urlOf(*m_syncer), "eve",
                                                       "token-for-eve@elsewhere.org");
    QSignalSpy refused(stranger.get(), &QStateSyncClient::joinFailed);
    stranger->connectToState("myGroupChat");
    QVERIFY(refused.wait(Timeout));

    alice->close();
    bob->close();
    QTRY_VERIFY(!m_syncer->hasState("myGroupChat"));
}

QTEST_GUILESS_MAIN(tst_SeedFeatures)
#include "tst_seedfeatures.moc"
