// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesyncd as its users run it: a separate process, driven by its command line and
// signals, talked to by real clients.

#include "daemonsupport.h"

#include <QStateSyncClient>

#include <QtCore/qdir.h>
#include <QtCore/qfileinfo.h>

using namespace TestSupport;
using namespace DaemonSupport;

class tst_Daemon : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void servesStatesAndStopsCleanlyOnSigterm();
    void sigtermClosesEveryClientWithGoingAway();
    void stopsOnSigint();
    void servesWssWithCertificateAndKey();
    void helpExplainsEveryOption();
    void badArgumentsExitWithUsageError_data();
    void badArgumentsExitWithUsageError();
    void busyPortExitsWithOne();
    void statesSurviveARestart();
    void storedStatesNoLongerConfiguredStayClosed();
    void memoryStorageKeepsNothing();
};

void tst_Daemon::servesStatesAndStopsCleanlyOnSigterm()
{
    Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--state", "demo", "--state", "other",
                   "--max-message-size", "4096"});
    QVERIFY2(daemon.start(), qPrintable(daemon.stdoutText + daemon.log()));
    QCOMPARE(daemon.url.host(), QStringLiteral("127.0.0.1"));
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: demo,other")));

    QStateSyncClient alice(daemon.url, "alice");
    QStateSyncClient bob(daemon.url, "bob");
    QSignalSpy aliceJoined(&alice, &QStateSyncClient::joined);
    QSignalSpy bobJoined(&bob, &QStateSyncClient::joined);
    alice.connectToState("demo");
    bob.connectToState("demo");
    QVERIFY(aliceJoined.wait(Timeout));
    QTRY_COMPARE_WITH_TIMEOUT(bobJoined.count(), 1, Timeout);
    QCOMPARE(alice.value(), QVariantMap());

    QSignalSpy acknowledged(&alice, &QStateSyncClient::updateAcknowledged);
    alice.updateState(QVariantMap{{"title", "from alice"}});
    QVERIFY(acknowledged.wait(Timeout));
    QTRY_COMPARE_WITH_TIMEOUT(bob.value().value("title").toString(), QStringLiteral("from alice"),
                              Timeout);

    // The limit from the command line is in force.
    QSignalSpy bobDisconnected(&bob, &QStateSyncClient::disconnected);
    bob.updateState(QVariantMap{{"big", QString(8192, u'x')}});
    QVERIFY(bobDisconnected.wait(Timeout));

    QSignalSpy aliceDisconnected(&alice, &QStateSyncClient::disconnected);
    QVERIFY(daemon.terminate());
    QVERIFY(aliceDisconnected.count() == 1 || aliceDisconnected.wait(Timeout));
    const QString log = daemon.log();
    QVERIFY2(log.contains(QLatin1String("alice joined demo")), qPrintable(log));
    QVERIFY2(log.contains(QLatin1String("signal 15")), qPrintable(log));
}

void tst_Daemon::sigtermClosesEveryClientWithGoingAway()
{
    Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--state", "demo"});
    QVERIFY(daemon.start());
    // Both protocol flavours, one joined to a state and one only connected.
    RawClient v2(RawClient::V2);
    RawClient v1(RawClient::V1);
    RawClient idle(RawClient::V2);
    QVERIFY(openAndJoin(v2, daemon.url, "v2", QString(), "demo").contains("state"));
    QVERIFY(openAndJoin(v1, daemon.url, "v1", QString(), "demo").contains("state"));
    QVERIFY(idle.open(daemon.url, "idle"));

    ::kill(pid_t(daemon.process.processId()), SIGTERM);
    for (RawClient *client : {&v2, &v1, &idle}) {
        QVERIFY(client->waitForDisconnect());
        QCOMPARE(client->socket.closeCode(), QWebSocketProtocol::CloseCodeGoingAway);
    }
    QVERIFY(daemon.waitForExit());
    QCOMPARE(daemon.process.exitStatus(), QProcess::NormalExit);
    QCOMPARE(daemon.process.exitCode(), 0);
    const QString log = daemon.log();
    QVERIFY2(log.contains(QLatin1String("closing 3 connections")), qPrintable(log));
    QVERIFY2(log.contains(QLatin1String("stopped")), qPrintable(log));
    QVERIFY2(!log.contains(QLatin1String("did not close")), qPrintable(log));
}

void tst_Daemon::stopsOnSigint()
{
    Daemon daemon({"--port", "0", "--host", "127.0.0.1"});
    QVERIFY(daemon.start());
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: (none)")));
    ::kill(pid_t(daemon.process.processId()), SIGINT);
    QVERIFY(daemon.waitForExit());
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
    QVERIFY(daemon.start());
    QCOMPARE(daemon.url.scheme(), QStringLiteral("wss"));
    QStateSyncClient client(daemon.url, "alice");
    client.setSslConfiguration(certificate.trustingClientConfiguration);
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    client.connectToState("s");
    QVERIFY(joined.wait(Timeout));
}

void tst_Daemon::helpExplainsEveryOption()
{
    const Finished finished = runToEnd({"--help"});
    QCOMPARE(finished.exitCode, 0);
    for (const char *option :
         {"--port", "--host", "--state", "--cert", "--key", "--max-message-size",
          "--max-nesting-depth", "--io-threads", "--storage", "--data-dir", "--durability",
          "--config", "--hooks", "--jwt-secret-file", "--check-config", "QSTATESYNC_JWT_SECRET",
          "/healthz", "/metrics", "SIGTERM"}) {
        QVERIFY2(finished.output.contains(QLatin1String(option)), option);
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
    QTest::addRow("unknown option") << QStringList{"--bogus"} << "bogus";
    QTest::addRow("depth too small")
            << QStringList{"--max-nesting-depth", "1"} << "--max-nesting-depth";
    QTest::addRow("negative I/O threads") << QStringList{"--io-threads", "-1"} << "--io-threads";
    QTest::addRow("unknown storage") << QStringList{"--storage", "disk"} << "--storage";
    QTest::addRow("unknown durability")
            << QStringList{"--durability", "sometimes"} << "--durability";
    QTest::addRow("data directory in use")
            << QStringList{"--data-dir", "IN_USE"} << "in use by process";
    QTest::addRow("data directory that cannot be made")
            << QStringList{"--data-dir", "/proc/qstatesyncd-test"} << "cannot use the storage";
    QTest::addRow("message size zero")
            << QStringList{"--max-message-size", "0"} << "--max-message-size";
    QTest::addRow("missing config file")
            << QStringList{"--config", "/nonexistent/qstatesyncd.json"} << "cannot read";
    QTest::addRow("missing hooks file")
            << QStringList{"--hooks", "/nonexistent/hooks.js"} << "hooks file";
    QTest::addRow("missing secret file")
            << QStringList{"--jwt-secret-file", "/nonexistent/secret"} << "secret file";
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
    // A data folder another daemon holds.
    std::unique_ptr<Daemon> holder;
    QTemporaryDir data;
    if (const qsizetype at = arguments.indexOf(QLatin1String("IN_USE")); at >= 0) {
        arguments[at] = data.path();
        holder = std::make_unique<Daemon>(
                QStringList{"--port", "0", "--host", "127.0.0.1", "--data-dir", data.path()});
        QVERIFY(holder->start());
    }
    const Finished finished = runToEnd(arguments);
    QCOMPARE(finished.exitCode, 2);
    QVERIFY2(finished.output.contains(complaint), qPrintable(finished.output));
}

void tst_Daemon::busyPortExitsWithOne()
{
    // In memory: one process at a time may use a data folder, and the second must get as
    // far as listening.
    Daemon first({"--port", "0", "--host", "127.0.0.1", "--storage", "memory"});
    QVERIFY(first.start());
    const Finished finished
            = runToEnd({"--port", QString::number(first.port()), "--host", "127.0.0.1"});
    QCOMPARE(finished.exitCode, 1);
    QVERIFY2(finished.output.contains(QLatin1String("cannot listen")), qPrintable(finished.output));
}

void tst_Daemon::statesSurviveARestart()
{
    QTemporaryDir data;
    const QStringList arguments{"--port",  "0",     "--host",     "127.0.0.1",
                                "--state", "notes", "--data-dir", data.path()};
    {
        Daemon daemon(arguments);
        QVERIFY(daemon.start());
        QStateSyncClient alice(daemon.url, "alice");
        QSignalSpy joined(&alice, &QStateSyncClient::joined);
        QSignalSpy acknowledged(&alice, &QStateSyncClient::updateAcknowledged);
        alice.connectToState("notes");
        QVERIFY(joined.wait(Timeout));
        alice.updateState(QVariantMap{{"title", "kept"}});
        QVERIFY(acknowledged.wait(Timeout));
        QVERIFY(daemon.terminate());
        QVERIFY2(daemon.log().contains(QLatin1String("opened with 0 states, batched")),
                 qPrintable(daemon.log()));
    }
    QVERIFY(QFileInfo::exists(data.filePath("states.sqlite")));
    Daemon daemon(arguments);
    QVERIFY(daemon.start());
    QStateSyncClient bob(daemon.url, "bob");
    QSignalSpy joined(&bob, &QStateSyncClient::joined);
    bob.connectToState("notes");
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(bob.value(), QVariantMap({{"title", "kept"}}));
    QCOMPARE(bob.version(), 1);
    QVERIFY(daemon.terminate());
}

void tst_Daemon::storedStatesNoLongerConfiguredStayClosed()
{
    QTemporaryDir data;
    const QStringList common{"--port", "0", "--host", "127.0.0.1", "--data-dir", data.path()};
    {
        Daemon daemon(common + QStringList{"--state", "notes", "--state", "payroll"});
        QVERIFY(daemon.start());
        RawClient client;
        QVERIFY(openAndJoin(client, daemon.url, "hr", QString(), "payroll").contains("state"));
        client.update({{"salary", 100}}, 1);
        QCOMPARE(answerTo(client, 1).value("type").toInt(), 3);
        QVERIFY(daemon.terminate());
    }
    // The configuration no longer names payroll: whatever guarded it is gone with it.
    Daemon daemon(common + QStringList{"--state", "notes"});
    QVERIFY(daemon.start());
    QVERIFY(daemon.waitForLog("state payroll is stored but not in the configuration"));
    RawClient client;
    const QJsonObject refused = openAndJoin(client, daemon.url, "anyone", QString(), "payroll");
    QCOMPARE(refused.value("code").toString(), QStringLiteral("state_not_found"));
    QVERIFY(openAndJoin(client, daemon.url, "anyone", QString(), "notes").contains("state"));
    QVERIFY(daemon.terminate());
    // Named again, it is served with its stored value.
    Daemon again(common + QStringList{"--state", "notes", "--state", "payroll"});
    QVERIFY(again.start());
    RawClient hr;
    const QJsonObject joined = openAndJoin(hr, again.url, "hr", QString(), "payroll");
    QCOMPARE(joined.value("state").toObject().value("salary").toInt(), 100);
    QVERIFY(again.terminate());
}

void tst_Daemon::memoryStorageKeepsNothing()
{
    QTemporaryDir data;
    const QStringList arguments{"--port", "0",          "--host",    "127.0.0.1", "--state",
                                "notes",  "--data-dir", data.path(), "--storage", "memory"};
    for (int run = 0; run < 2; ++run) {
        Daemon daemon(arguments);
        QVERIFY(daemon.start());
        QStateSyncClient alice(daemon.url, "alice");
        QSignalSpy joined(&alice, &QStateSyncClient::joined);
        QSignalSpy acknowledged(&alice, &QStateSyncClient::updateAcknowledged);
        alice.connectToState("notes");
        QVERIFY(joined.wait(Timeout));
        // Each run starts empty.
        QCOMPARE(alice.version(), 0);
        alice.updateState(QVariantMap{{"title", "lost"}});
        QVERIFY(acknowledged.wait(Timeout));
        QVERIFY(daemon.terminate());
        QVERIFY2(daemon.log().contains(QLatin1String("memory only")), qPrintable(daemon.log()));
    }
    QVERIFY(QDir(data.path()).isEmpty());
}

QTEST_GUILESS_MAIN(tst_Daemon)
#include "tst_daemon.moc"
