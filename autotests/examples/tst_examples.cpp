// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The examples do what their documentation says, run as their users run them.

#include "testsupport.h"

#include <QStateSyncClient>

#include <QtCore/qprocess.h>
#include <QtCore/qregularexpression.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

using namespace TestSupport;
using QStateSync::Error;

namespace {
const QString Room = QStringLiteral("myGroupChat");

QString tokenFor(const QString &email)
{
    QProcess process;
    process.start(QStringLiteral(SERVER_EXAMPLE_PATH), {"--make-token", email});
    if (!process.waitForFinished(Timeout))
        return QString();
    return QString::fromLatin1(process.readAllStandardOutput()).trimmed();
}

// The chat server example, stopped whatever the test's outcome.
class ChatServerProcess
{
public:
    ChatServerProcess()
    {
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(QStringLiteral(SERVER_EXAMPLE_PATH),
                      {"--port", "0", "--host", "127.0.0.1", "--admin", "admin@example.com"});
        process.waitForStarted(Timeout);
    }
    ~ChatServerProcess()
    {
        process.kill();
        process.waitForFinished(Timeout);
    }
    // Waits until the output (standard output and the log) matches pattern.
    QRegularExpressionMatch waitForOutput(const QRegularExpression &pattern)
    {
        QDeadlineTimer deadline(Timeout);
        for (;;) {
            output += QString::fromLocal8Bit(process.readAll());
            const QRegularExpressionMatch match = pattern.match(output);
            if (match.hasMatch() || deadline.hasExpired() || process.state() != QProcess::Running)
                return match;
            process.waitForReadyRead(int(deadline.remainingTime()));
        }
    }
    QUrl waitForUrl()
    {
        const auto match = waitForOutput(QRegularExpression(QStringLiteral("on (ws://\\S+)")));
        return match.hasMatch() ? QUrl(match.captured(1)) : QUrl();
    }
    QString output;
    QProcess process;
};
} // namespace

class tst_Examples : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void chatServerAuthorizesWithSignedTokens();
    void chatServerLetsOnlyItsDomainJoin();
    void chatServerValidatesAndStampsMessages();
    void chatServerLetsOnlyAdminsChangeTheTopic();
    void chatServerClosesAnEmptyRoom();

private:
    std::unique_ptr<QStateSyncClient> join(const QUrl &url, const QString &email);
};

std::unique_ptr<QStateSyncClient> tst_Examples::join(const QUrl &url, const QString &email)
{
    auto client = std::make_unique<QStateSyncClient>(url, email, tokenFor(email));
    QSignalSpy joined(client.get(), &QStateSyncClient::joined);
    client->connectToState(Room);
    if (!joined.wait(Timeout))
        qWarning("%s could not join", qPrintable(email));
    return client;
}

void tst_Examples::chatServerAuthorizesWithSignedTokens()
{
    ChatServerProcess server;
    const QUrl url = server.waitForUrl();
    QVERIFY(url.isValid());
    const QString token = tokenFor("alice@example.com");
    QVERIFY(token.contains(QLatin1Char('.')));

    QStateSyncClient forged(url, "mallory", token.left(token.size() - 2) + "xx");
    QSignalSpy errors(&forged, &QStateSyncClient::errorOccurred);
    forged.open();
    QVERIFY(errors.wait(Timeout));
    QCOMPARE(errors.at(0).at(0).value<Error>(), Error::Unauthorized);

    auto alice = join(url, "alice@example.com");
    QCOMPARE(alice->status(), QStateSyncClient::Joined);
    QCOMPARE(alice->value().value("topic").toString(), QStringLiteral("General"));
}

void tst_Examples::chatServerLetsOnlyItsDomainJoin()
{
    ChatServerProcess server;
    const QUrl url = server.waitForUrl();
    QStateSyncClient eve(url, "eve", tokenFor("eve@elsewhere.org"));
    QSignalSpy failed(&eve, &QStateSyncClient::joinFailed);
    eve.connectToState(Room);
    QVERIFY(failed.wait(Timeout));
    // The server does not tell an outsider that the room exists.
    QCOMPARE(failed.at(0).at(1).value<Error>(), Error::StateNotFound);
    QCOMPARE(failed.at(0).at(2).toString(),
             QStringLiteral("State %1 does not exist or may not be joined").arg(Room));
}

void tst_Examples::chatServerValidatesAndStampsMessages()
{
    ChatServerProcess server;
    const QUrl url = server.waitForUrl();
    auto alice = join(url, "alice@example.com");
    auto bob = join(url, "bob@example.com");
    QSignalSpy acknowledged(alice.get(), &QStateSyncClient::updateAcknowledged);
    QSignalSpy failed(alice.get(), &QStateSyncClient::updateFailed);

    alice->append("chatMessages", QVariantMap{{"content", "  hello  "}, {"author", "forged"}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE(bob->value().value("chatMessages").toList().size(), 1);
    const QVariantMap message = bob->value().value("chatMessages").toList().at(0).toMap();
    QCOMPARE(message.value("content").toString(), QStringLiteral("hello"));
    QCOMPARE(message.value("author").toString(), QStringLiteral("alice@example.com"));
    QVERIFY(QDateTime::fromString(message.value("sentAt").toString(), Qt::ISODateWithMs).isValid());

    alice->append("chatMessages", QVariantMap{{"content", "   "}});
    QVERIFY(failed.wait(Timeout));
    alice->updateState(QVariantMap{{"chatMessages", QVariantList()}});
    QVERIFY(failed.wait(Timeout));
    QCOMPARE(failed.at(1).at(1).value<Error>(), Error::UpdateRefused);
    QCOMPARE(alice->value().value("chatMessages").toList().size(), 1);
}

void tst_Examples::chatServerLetsOnlyAdminsChangeTheTopic()
{
    ChatServerProcess server;
    const QUrl url = server.waitForUrl();
    auto alice = join(url, "alice@example.com");
    auto admin = join(url, "admin@example.com");
    QSignalSpy refused(alice.get(), &QStateSyncClient::updateFailed);
    alice->updateState(QVariantMap{{"topic", "Alice's"}});
    QVERIFY(refused.wait(Timeout));
    QCOMPARE(refused.at(0).at(2).toString(), QStringLiteral("Only admins change the topic"));

    QSignalSpy acknowledged(admin.get(), &QStateSyncClient::updateAcknowledged);
    admin->updateState(QVariantMap{{"topic", "Friday"}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE(alice->value().value("topic").toString(), QStringLiteral("Friday"));
}

void tst_Examples::chatServerClosesAnEmptyRoom()
{
    ChatServerProcess server;
    const QUrl url = server.waitForUrl();
    {
        auto alice = join(url, "alice@example.com");
        QSignalSpy acknowledged(alice.get(), &QStateSyncClient::updateAcknowledged);
        alice->append("chatMessages", QVariantMap{{"content", "anyone?"}});
        QVERIFY(acknowledged.wait(Timeout));
    }
    // The room closed when alice left, and a fresh one opened: the next visitor finds no
    // old messages. The server says so in its log.
    QVERIFY2(server.waitForOutput(QRegularExpression(QStringLiteral("closed: selfDestruct")))
                     .hasMatch(),
             qPrintable(server.output));
    auto bob = join(url, "bob@example.com");
    QCOMPARE(bob->value().value("chatMessages").toList().size(), 0);
}

QTEST_GUILESS_MAIN(tst_Examples)
#include "tst_examples.moc"
