// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesyncd as its users run it: a separate process, driven by its command line and
// signals, talked to by real clients.

#include "testsupport.h"

#include <QStateSyncClient>

#include <QtCore/qprocess.h>
#include <QtCore/qregularexpression.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <csignal>

using namespace TestSupport;

namespace {
// A running qstatesyncd that is always stopped, whatever the test's outcome.
class Daemon
{
public:
    explicit Daemon(const QStringList &arguments)
    {
        process.setProgram(QStringLiteral(QSTATESYNCD_PATH));
        process.setArguments(arguments);
        process.start();
    }
    ~Daemon()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(Timeout);
        }
    }

    // Waits for the line that names the listening URL.
    QUrl waitForUrl()
    {
        static const QRegularExpression line(QStringLiteral("listening on (wss?://[^ ]+)"));
        QDeadlineTimer deadline(Timeout);
        while (!deadline.hasExpired()) {
            stdoutText += QString::fromLocal8Bit(process.readAllStandardOutput());
            const QRegularExpressionMatch match = line.match(stdoutText);
            if (match.hasMatch())
                return QUrl(match.captured(1));
            if (process.state() == QProcess::NotRunning
                || !process.waitForReadyRead(int(deadline.remainingTime())))
                break;
        }
        return QUrl();
    }

    QProcess process;
    QString stdoutText;
};

QPair<int, QString> runToEnd(const QStringList &arguments)
{
    QProcess process;
    process.start(QStringLiteral(QSTATESYNCD_PATH), arguments);
    if (!process.waitForFinished(Timeout)) {
        process.kill();
        process.waitForFinished(Timeout);
        return {-1, QString()};
    }
    return {process.exitCode(),
            QString::fromLocal8Bit(process.readAllStandardOutput()
                                   + process.readAllStandardError())};
}
} // namespace

class tst_Daemon : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void servesStatesAndStopsCleanlyOnSigterm();
    void stopsOnSigint();
    void servesWssWithCertificateAndKey();
    void helpExplainsEveryOption();
    void badArgumentsExitWithUsageError_data();
    void badArgumentsExitWithUsageError();
    void busyPortExitsWithOne();
};

void tst_Daemon::servesStatesAndStopsCleanlyOnSigterm()
{
    Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--state", "demo", "--state", "other",
                   "--max-message-size", "4096"});
    const QUrl url = daemon.waitForUrl();
    QVERIFY2(url.isValid(), qPrintable(daemon.stdoutText));
    QCOMPARE(url.host(), QStringLiteral("127.0.0.1"));
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: demo,other")));

    QStateSyncClient alice(url, "alice");
    QStateSyncClient bob(url, "bob");
    QSignalSpy aliceJoined(&alice, &QStateSyncClient::joined);
    QSignalSpy bobJoined(&bob, &QStateSyncClient::joined);
    alice.connectToState("demo");
    bob.connectToState("demo");
    QVERIFY(aliceJoined.wait(Timeout));
    QTRY_COMPARE(bobJoined.count(), 1);
    QCOMPARE(alice.value(), QVariantMap());

    QSignalSpy acknowledged(&alice, &QStateSyncClient::updateAcknowledged);
    alice.updateState(QVariantMap{{"title", "from alice"}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE(bob.value().value("title").toString(), QStringLiteral("from alice"));

    // The limit from the command line is in force.
    QSignalSpy bobDisconnected(&bob, &QStateSyncClient::disconnected);
    bob.updateState(QVariantMap{{"big", QString(8192, u'x')}});
    QVERIFY(bobDisconnected.wait(Timeout));

    QSignalSpy aliceDisconnected(&alice, &QStateSyncClient::disconnected);
    ::kill(pid_t(daemon.process.processId()), SIGTERM);
    QVERIFY(daemon.process.waitForFinished(Timeout));
    QCOMPARE(daemon.process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(daemon.process.exitCode(), 0);
    QVERIFY(aliceDisconnected.count() == 1 || aliceDisconnected.wait(Timeout));
    const QString log = QString::fromLocal8Bit(daemon.process.readAllStandardError());
    QVERIFY2(log.contains(QLatin1String("alice joined demo")), qPrintable(log));
    QVERIFY2(log.contains(QLatin1String("signal 15")), qPrintable(log));
}

void tst_Daemon::stopsOnSigint()
{
    Daemon daemon({"--port", "0", "--host", "127.0.0.1"});
    QVERIFY(daemon.waitForUrl().isValid());
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: (none)")));
    ::kill(pid_t(daemon.process.processId()), SIGINT);
    QVERIFY(daemon.process.waitForFinished(Timeout));
    QCOMPARE(daemon.process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(daemon.process.exitCode(), 0);
}

void tst_Daemon::servesWssWithCertificateAndKey()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("This Qt has no TLS backend");
    QTemporaryDir dir;
    const Certificate certificate = makeSelfSignedCertificate(dir);
    QVERIFY2(certificate.error.isEmpty(), qPrintable(certificate.error));
    Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--state", "s", "--cert",
                   certificate.certificateFile, "--key", certificate.keyFile});
    const QUrl url = daemon.waitForUrl();
    QCOMPARE(url.scheme(), QStringLiteral("wss"));
    QStateSyncClient client(url, "alice");
    client.setSslConfiguration(certificate.trustingClientConfiguration);
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("s");
    QVERIFY(joined.wait(Timeout));
}

void tst_Daemon::helpExplainsEveryOption()
{
    const auto [code, text] = runToEnd({"--help"});
    QCOMPARE(code, 0);
    for (const char *option : {"--port", "--host", "--state", "--cert", "--key",
                               "--max-message-size", "--max-nesting-depth", "SIGTERM"}) {
        QVERIFY2(text.contains(QLatin1String(option)), option);
    }
}

void tst_Daemon::badArgumentsExitWithUsageError_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("complaint");
    QTest::addRow("port not a number") << QStringList{"--port", "abc"} << "--port";
    QTest::addRow("port too large") << QStringList{"--port", "70000"} << "--port";
    QTest::addRow("host not an address") << QStringList{"--host", "not-an-ip"} << "--host";
    QTest::addRow("state twice") << QStringList{"--state", "a", "--state", "a"} << "twice";
    QTest::addRow("cert without key") << QStringList{"--cert", "c.pem"} << "--key";
    QTest::addRow("unreadable certificate")
            << QStringList{"--cert", "/nonexistent/c.pem", "--key", "/nonexistent/k.pem"}
            << "certificate";
    QTest::addRow("stray argument") << QStringList{"extra"} << "unexpected";
    QTest::addRow("depth too small")
            << QStringList{"--max-nesting-depth", "1"} << "--max-nesting-depth";
    QTest::addRow("message size zero")
            << QStringList{"--max-message-size", "0"} << "--max-message-size";
}

void tst_Daemon::badArgumentsExitWithUsageError()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, complaint);
    // Whatever the arguments do not set is safe: a free port on loopback.
    if (!arguments.contains(QLatin1String("--port")))
        arguments << "--port"
                  << "0";
    if (!arguments.contains(QLatin1String("--host")))
        arguments << "--host"
                  << "127.0.0.1";
    const auto [code, text] = runToEnd(arguments);
    QCOMPARE(code, 2);
    QVERIFY2(text.contains(complaint), qPrintable(text));
}

void tst_Daemon::busyPortExitsWithOne()
{
    Daemon first({"--port", "0", "--host", "127.0.0.1"});
    const QUrl url = first.waitForUrl();
    QVERIFY(url.isValid());
    const auto [code, text]
            = runToEnd({"--port", QString::number(url.port()), "--host", "127.0.0.1"});
    QCOMPARE(code, 1);
    QVERIFY2(text.contains(QLatin1String("cannot listen")), qPrintable(text));
}

QTEST_GUILESS_MAIN(tst_Daemon)
#include "tst_daemon.moc"
