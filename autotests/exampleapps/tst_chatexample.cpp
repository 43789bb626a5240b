// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The chat example (examples/chat) as its users run it: offscreen, against a server on
// 127.0.0.1, driven by its --autoplay steps; the test is the other person in the room.

#include "exampleapp.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtGui/qimage.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;

namespace {
const QString Room = QStringLiteral("myGroupChat");

QVariantList messagesOf(const QStateSyncer &server)
{
    return server.valueOfState(Room)
            .value_or(QJsonObject())
            .value(QStringLiteral("chatMessages"))
            .toArray()
            .toVariantList();
}

QStringList urlArguments(const QStateSyncer &server)
{
    return {QStringLiteral("--url"), urlOf(server).toString()};
}
} // namespace

class tst_ChatExample : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void appendsMessagesAndShowsTyping();
    void servesTheRoomAndStampsAuthors();
    void savesAScreenshotWhenEveryoneIsDone();
};

void tst_ChatExample::appendsMessagesAndShowsTyping()
{
    // An empty state, as qstatesyncd --state makes: the first append creates the list.
    auto server = startServer();
    QVERIFY(!createState(*server, Room).isNull());
    QList<QStateSyncUpdateRequest::Kind> changesFromTheApp;
    connect(server.get(), &QStateSyncer::updateRequested, this,
            [&](QStateSyncUpdateRequest *request) {
                if (request->clientIdentifier() == QLatin1String("app-user"))
                    changesFromTheApp.append(request->kind());
            });

    auto tester = joinedClient(*server, QStringLiteral("tester"), Room);
    bool sawTyping = false;
    connect(tester.get(), &QStateSyncClient::peerChanged, this, [&](const QVariantMap &peer) {
        if (peer.value(QStringLiteral("clientIdentifier")).toString() == QLatin1String("app-user")
            && peer.value(QStringLiteral("presenceData"))
                       .toMap()
                       .value(QStringLiteral("typing"))
                       .toBool()) {
            sawTyping = true;
        }
    });

    ExampleApp app(QStringLiteral(CHAT_EXAMPLE_PATH),
                   urlArguments(*server)
                           + QStringList{"--name", "app-user", "--autoplay",
                                         "say:hello from the app", "--autoplay", "wait:2",
                                         "--autoplay", "say:thanks, tester"});
    QTRY_COMPARE_WITH_TIMEOUT(messagesOf(*server).size(), 1, Timeout);
    QVariantMap message = messagesOf(*server).at(0).toMap();
    QCOMPARE(message.value("content").toString(), QStringLiteral("hello from the app"));
    QCOMPARE(message.value("author").toString(), QStringLiteral("app-user"));
    QVERIFY(sawTyping);

    // The app answers only once it received this message.
    QSignalSpy acknowledged(tester.get(), &QStateSyncClient::updateAcknowledged);
    tester->append("chatMessages", QVariantMap{{"content", "hi app"}, {"author", "tester"}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE_WITH_TIMEOUT(messagesOf(*server).size(), 3, Timeout);
    message = messagesOf(*server).at(2).toMap();
    QCOMPARE(message.value("content").toString(), QStringLiteral("thanks, tester"));
    QCOMPARE(message.value("author").toString(), QStringLiteral("app-user"));

    // Every message was an append, never the whole list; sending ends "typing".
    QCOMPARE(changesFromTheApp,
             QList<QStateSyncUpdateRequest::Kind>(2, QStateSyncUpdateRequest::Append));
    QTRY_VERIFY_WITH_TIMEOUT(
            presenceDataOf(*tester, "app-user").contains("typing")
                    && !presenceDataOf(*tester, "app-user").value("typing").toBool(),
            Timeout);
}

void tst_ChatExample::servesTheRoomAndStampsAuthors()
{
    ExampleApp app(QStringLiteral(CHAT_EXAMPLE_PATH),
                   {"--serve", "--url", "ws://127.0.0.1:0", "--name", "host", "--autoplay",
                    "wait:1", "--autoplay", "say:welcome"});
    const QUrl url = app.waitForServingUrl();
    QVERIFY2(url.isValid(), qPrintable(app.output));
    QCOMPARE(url.host(), QStringLiteral("127.0.0.1"));

    QStateSyncClient tester(url, QStringLiteral("tester"));
    QSignalSpy joined(&tester, &QStateSyncClient::joined);
    tester.connectToState(Room);
    QVERIFY(joined.wait(Timeout));
    QVERIFY(tester.value().value("chatMessages").canConvert<QVariantList>());

    // The server's interceptor trims the content and says who wrote it.
    QSignalSpy acknowledged(&tester, &QStateSyncClient::updateAcknowledged);
    tester.append("chatMessages", QVariantMap{{"content", "  hi  "}, {"author", "forged"}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE_WITH_TIMEOUT(tester.value().value("chatMessages").toList().size(), 2, Timeout);
    const QVariantList messages = tester.value().value("chatMessages").toList();
    QCOMPARE(messages.at(0).toMap().value("content").toString(), QStringLiteral("hi"));
    QCOMPARE(messages.at(0).toMap().value("author").toString(), QStringLiteral("tester"));
    QCOMPARE(messages.at(1).toMap().value("content").toString(), QStringLiteral("welcome"));
    QCOMPARE(messages.at(1).toMap().value("author").toString(), QStringLiteral("host"));

    // The list is append-only: replacing it is refused.
    QSignalSpy failed(&tester, &QStateSyncClient::updateFailed);
    tester.updateState(QVariantMap{{"chatMessages", QVariantList()}});
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(0).at(1).value<QStateSync::Error>(), QStateSync::Error::UpdateRefused);
}

void tst_ChatExample::savesAScreenshotWhenEveryoneIsDone()
{
    auto server = startServer();
    QVERIFY(!createState(*server, Room).isNull());
    QTemporaryDir directory;
    const QString file = directory.filePath(QStringLiteral("chat.png"));

    ExampleApp app(QStringLiteral(CHAT_EXAMPLE_PATH),
                   urlArguments(*server)
                           + QStringList{"--name", "app-user", "--autoplay", "say:cheese",
                                         "--screenshot", file});
    QTRY_COMPARE_WITH_TIMEOUT(messagesOf(*server).size(), 1, Timeout);
    // The app waits for the others in the room to be done too: here, the tester.
    QSignalSpy finished(&app.process, &QProcess::finished);
    auto tester = joinedClient(*server, QStringLiteral("tester"), Room);
    tester->setPresenceData({{"autoplayDone", true}});
    QVERIFY(finished.wait(Timeout));
    QCOMPARE(app.process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(app.process.exitCode(), 0);

    const QImage image(file);
    QVERIFY(!image.isNull());
    QVERIFY(image.width() >= 400 && image.height() >= 300);
    // Not one flat colour: the window was drawn.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 7)
        colours.insert(image.pixel(image.width() / 3, y));
    QVERIFY(colours.size() > 3);
}

QTEST_GUILESS_MAIN(tst_ChatExample)
#include "tst_chatexample.moc"
