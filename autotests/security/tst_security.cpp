// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Who may do what: no join without authorization, no write to a state not joined, no
// reading of another state, TLS that holds, and tokens that never reach a log line.

#include "logcapture.h"
#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncClient>
#include <QStateSyncJoinRequest>
#include <QStateSyncer>

#include <QtCore/qloggingcategory.h>
#include <QtTest/qtest.h>

using namespace TestSupport;
using QStateSync::Error;

namespace {
constexpr char Secret[] = "s3cr3t-t0k3n-value";

// Lets in only the token "good", and records who was asked about.
void guard(QStateSyncer &server, QStringList *asked = nullptr)
{
    QObject::connect(&server, &QStateSyncer::authorizationRequested, &server,
                     [asked](QStateSyncAuthorizationRequest *request) {
                         if (asked)
                             asked->append(request->clientIdentifier());
                         if (request->token() == QLatin1String("good"))
                             request->accept({{"role", "member"}});
                         else
                             request->reject(QStringLiteral("bad token"));
                     });
}
} // namespace

class tst_Security : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void noJoinWithoutAuthorization();
    void refusedJoinReceivesNothingOfTheState();
    void noWriteToAStateNotJoined();
    void noReadOfAnotherState();
    void wssWorksAndRefusesWhatItShould();
    void tokensAreNotLoggedAnywhere();
};

void tst_Security::initTestCase()
{
    // Everything the library can log, so that a token in any line would be seen.
    QLoggingCategory::setFilterRules(QStringLiteral("qstatesync.*=true"));
}

void tst_Security::noJoinWithoutAuthorization()
{
    auto server = startServer();
    createState(*server, "s", QJsonObject{{"secret", 42}});
    QStringList asked;
    guard(*server, &asked);
    QSignalSpy joined(server.get(), &QStateSyncer::clientJoined);

    // Without a token, with a wrong one: refused before any WebSocket opens.
    for (const QString &token : {QString(), QStringLiteral("wrong")}) {
        QStateSyncClient client(urlOf(*server), "mallory", token);
        client.setAutoReconnect(false);
        QSignalSpy errors(&client, &QStateSyncClient::errorOccurred);
        client.connectToState("s");
        QVERIFY(errors.wait(Timeout));
        QCOMPARE(client.error(), Error::Unauthorized);
        QCOMPARE(client.status(), QStateSyncClient::Error);
        QVERIFY(client.value().isEmpty());
        RawClient raw;
        QVERIFY(!raw.open(urlOf(*server), "mallory", token));
    }
    const HttpAnswer answer
            = rawRequest(server->serverPort(), upgradeRequest("/?identifier=mallory&token=wrong"));
    QCOMPARE(answer.status, 401);
    QVERIFY(answer.closedByServer);
    QCOMPARE(joined.count(), 0);
    QCOMPARE(server->clientCount(), 0);
    QVERIFY(asked.contains("mallory"));

    // The right token gets in.
    auto member = joinedClient(*server, "alice", "s", "good");
    QCOMPARE(member->value().value("secret").toInt(), 42);
}

void tst_Security::refusedJoinReceivesNothingOfTheState()
{
    auto server = startServer();
    QStateSyncStateOptions options;
    options.setIdentifier("private");
    options.setInitialValue(QJsonObject{{"secret", "do not show"}});
    options.setAllowConnectingClient(
            [](const QVariantMap &information) { return information.value("role") == "admin"; });
    server->createState(options);
    RawClient peer;
    QVERIFY(peer.open(urlOf(*server), "mallory"));
    peer.join("private");
    const QJsonObject answer = peer.take(8);
    QVERIFY(!answer.isEmpty());
    // Changes of the state do not reach it either.
    QVERIFY(server->updateStateValue("private", QJsonObject{{"secret", "still hidden"}}));
    peer.update(QJsonObject{{"secret", "overwritten"}}, 1);
    QCOMPARE(peer.takeData(9).value("code").toString(), QStringLiteral("not_joined"));
    for (const QJsonObject &message : std::as_const(peer.received)) {
        QVERIFY2(!compact(message).contains("hidden"), qPrintable(compact(message)));
        QVERIFY2(!compact(message).contains("do not show"), qPrintable(compact(message)));
    }
    QVERIFY(!compact(answer).contains("do not show"));
    QCOMPARE(server->valueOfState("private")->value("secret").toString(),
             QStringLiteral("still hidden"));
    QVERIFY(server->clientsOfState("private").isEmpty());
}

void tst_Security::noWriteToAStateNotJoined()
{
    auto server = startServer();
    createState(*server, "a", QJsonObject{{"n", 0}});
    createState(*server, "b", QJsonObject{{"n", 0}});
    RawClient peer;
    QVERIFY(peer.open(urlOf(*server), "mallory"));
    // Not joined at all.
    peer.update(QJsonObject{{"n", 1}}, 1);
    QCOMPARE(peer.takeData(9).value("code").toString(), QStringLiteral("not_joined"));
    peer.append(QJsonObject{{"list", QJsonArray{1}}}, 2);
    QCOMPARE(peer.takeData(9).value("code").toString(), QStringLiteral("not_joined"));
    // Joined to a: writes go to a and only to a, whatever the message says.
    QVERIFY(!peer.joinAndWait("a").isEmpty());
    peer.send(3,
              QJsonObject{{"updates", QJsonObject{{"n", 2}}},
                          {"stateIdentifier", "b"},
                          {"requestId", 3}});
    QCOMPARE(peer.takeData(3).value("requestId").toInt(), 3);
    QCOMPARE(server->valueOfState("a")->value("n").toInt(), 2);
    QCOMPARE(server->valueOfState("b")->value("n").toInt(), 0);
    // After leaving, nothing.
    peer.send(21, QJsonValue::Null);
    QVERIFY(!peer.take(23).isEmpty());
    peer.update(QJsonObject{{"n", 3}}, 4);
    QCOMPARE(peer.takeData(9).value("code").toString(), QStringLiteral("not_joined"));
    QCOMPARE(server->valueOfState("a")->value("n").toInt(), 2);
    QCOMPARE(server->versionOfState("b"), 0);
}

void tst_Security::noReadOfAnotherState()
{
    auto server = startServer();
    createState(*server, "a", QJsonObject{{"mine", true}});
    createState(*server, "b", QJsonObject{{"theirs", "private"}});
    auto insider = joinedClient(*server, "bob", "b");
    RawClient peer;
    QVERIFY(peer.open(urlOf(*server), "mallory"));
    QVERIFY(!peer.joinAndWait("a").isEmpty());
    // b changes, and someone joins and leaves it: a's client hears none of it. The
    // insider's change is applied before the peer moves to b below, or the peer would
    // rightly hear it there.
    QSignalSpy acknowledged(insider.get(), &QStateSyncClient::updateAcknowledged);
    insider->updateState(QJsonObject{{"theirs", "changed"}});
    QVERIFY(acknowledged.wait(Timeout));
    insider->setPresenceData({{"typing", true}});
    QVERIFY(server->appendToState("b", QJsonObject{{"log", QJsonArray{"x"}}}));
    // A change of a, sent after those, arrives; everything before it was looked at.
    QVERIFY(server->updateStateValue("a", QJsonObject{{"marker", 1}}));
    QCOMPARE(peer.takeData(3).value("updates").toObject().value("marker").toInt(), 1);
    for (const QJsonObject &message : std::as_const(peer.received)) {
        const QString text = compact(message);
        QVERIFY2(!text.contains("theirs") && !text.contains("bob") && !text.contains("log"),
                 qPrintable(text));
    }
    // Moving to b ends a's messages.
    peer.received.clear();
    QVERIFY(!peer.joinAndWait("b").isEmpty());
    QVERIFY(server->updateStateValue("a", QJsonObject{{"after", 1}}));
    QVERIFY(server->updateStateValue("b", QJsonObject{{"marker", 2}}));
    QCOMPARE(peer.takeData(3).value("updates").toObject().value("marker").toInt(), 2);
    for (const QJsonObject &message : std::as_const(peer.received))
        QVERIFY2(!compact(message).contains("after"), qPrintable(compact(message)));
}

void tst_Security::wssWorksAndRefusesWhatItShould()
{
    QTemporaryDir dir;
    const Certificate certificate = makeSelfSignedCertificate(dir);
    QVERIFY2(certificate.error.isEmpty(), qPrintable(certificate.error));
    QStateSyncer server;
    QVERIFY(server.setCertificateFiles(certificate.certificateFile, certificate.keyFile));
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QVERIFY(server.isSecure());
    QStringList asked;
    guard(server, &asked);
    createState(server, "s", QJsonObject{{"n", 1}});
    const QUrl url = urlOf(server);
    QCOMPARE(url.scheme(), QStringLiteral("wss"));

    // A client that trusts the certificate joins and writes.
    QStateSyncClient trusting(url, "alice", "good");
    trusting.setSslConfiguration(certificate.trustingClientConfiguration);
    QSignalSpy joined(&trusting, &QStateSyncClient::joined);
    trusting.connectToState("s");
    QVERIFY(joined.wait(Timeout));
    QSignalSpy acknowledged(&trusting, &QStateSyncClient::updateAcknowledged);
    trusting.updateState(QJsonObject{{"n", 2}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(server.valueOfState("s")->value("n").toInt(), 2);

    // One that does not trust it never gets as far as the authorization hook.
    asked.clear();
    QStateSyncClient doubting(url, "eve", "good");
    doubting.setAutoReconnect(false);
    QSignalSpy errors(&doubting, &QStateSyncClient::errorOccurred);
    doubting.connectToState("s");
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(doubting.error(), Error::ConnectionFailed);
    QVERIFY(!asked.contains("eve"));

    // Plain WebSocket to the TLS port: no upgrade.
    QUrl plain = url;
    plain.setScheme(QStringLiteral("ws"));
    QStateSyncClient cleartext(plain, "carol", "good");
    cleartext.setAutoReconnect(false);
    QSignalSpy cleartextErrors(&cleartext, &QStateSyncClient::errorOccurred);
    cleartext.connectToState("s");
    QTRY_COMPARE_WITH_TIMEOUT(cleartext.status(), QStateSyncClient::Error, Timeout);
    QVERIFY(!asked.contains("carol"));
    QCOMPARE(server.clientsOfState("s"), QStringList{"alice"});
}

void tst_Security::tokensAreNotLoggedAnywhere()
{
    LogCapture capture;
    LogCapture::clear();
    auto server = startServer();
    createState(*server, "s");
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [](QStateSyncAuthorizationRequest *request) {
                if (request->clientIdentifier() == QLatin1String("alice"))
                    request->accept();
                else
                    request->reject(QStringLiteral("not you"));
            });
    // Accepted: connect, join, update, refused join, disconnect, reconnect.
    {
        QStateSyncClient client(urlOf(*server), "alice", QLatin1String(Secret));
        client.setReconnectDelay(10);
        QSignalSpy joined(&client, &QStateSyncClient::joined);
        client.connectToState("s");
        QVERIFY(joined.wait(Timeout));
        QSignalSpy acknowledged(&client, &QStateSyncClient::updateAcknowledged);
        client.updateState(QJsonObject{{"n", 1}});
        QVERIFY(acknowledged.wait(Timeout));
        QSignalSpy failed(&client, &QStateSyncClient::joinFailed);
        client.connectToState("missing");
        QVERIFY(failed.wait(Timeout));
        const quint16 port = server->serverPort();
        server->close();
        QTRY_COMPARE_WITH_TIMEOUT(client.status(), QStateSyncClient::Reconnecting, Timeout);
        QTRY_VERIFY_WITH_TIMEOUT(client.reconnectAttempt() >= 2, Timeout);
        QVERIFY(server->listen(QHostAddress::LocalHost, port));
        QTRY_COMPARE_WITH_TIMEOUT(client.status(), QStateSyncClient::Joined, Timeout);
    }
    // Refused, by the server and by a client that gives up.
    {
        QStateSyncClient client(urlOf(*server), "mallory", QLatin1String(Secret));
        QSignalSpy errors(&client, &QStateSyncClient::errorOccurred);
        client.connectToState("s");
        QVERIFY(errors.wait(Timeout));
        QCOMPARE(client.error(), Error::Unauthorized);
    }
    const QStringList lines = LogCapture::all();
    QVERIFY(lines.size() > 5);
    for (const QString &line : lines)
        QVERIFY2(!line.contains(QLatin1String("s3cr3t")), qPrintable(line));
}

QTEST_MAIN(tst_Security)
#include "tst_security.moc"
