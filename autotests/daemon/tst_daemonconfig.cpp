// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesyncd's configuration file: what each key does to a running daemon, how the
// command line overrides it, and how mistakes in it are reported.

#include "daemonsupport.h"

#include <QStateSyncClient>

#include <QtCore/qdir.h>
#include <QtCore/qfile.h>
#include <QtCore/qfileinfo.h>

using namespace TestSupport;
using namespace DaemonSupport;

namespace {
QStringList onLoopback(const QString &configFile)
{
    return {"--config", configFile, "--port", "0", "--host", "127.0.0.1"};
}

QJsonObject state(const QString &identifier, const QJsonObject &extra = {})
{
    QJsonObject result = extra;
    result.insert(QStringLiteral("identifier"), identifier);
    return result;
}
} // namespace

class tst_DaemonConfig : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void statesHaveTheirInitialValueAndMergeMode();
    void ttlRemovesTheState();
    void selfDestructWhenEmptyRemovesTheStateAfterTheLastClient();
    void storageComesFromTheConfiguration();
    void limitsAreEnforced();
    void ioThreadsComeFromTheConfigurationAndTheCommandLine();
    void stateThreadsComeFromTheConfigurationAndTheCommandLine();
    void clientStateAndRateLimitsAreEnforced();
    void stateExistenceIsHiddenUnlessRevealed();
    void commandLineOverridesTheFile();
    void checkConfigValidatesWithoutListening();
    void checkConfigLeavesTheDatabaseAlone();
    void exampleConfigurationRuns();
    void exampleQmlHooksLoad();
    void mistakesExitWithTwoAndNameTheKey_data();
    void mistakesExitWithTwoAndNameTheKey();
};

void tst_DaemonConfig::statesHaveTheirInitialValueAndMergeMode()
{
    QTemporaryDir dir;
    const QJsonObject user{{"user", QJsonObject{{"name", "ann"}, {"age", 30}}}};
    const QString config = writeJson(
            dir, "config.json",
            {{"states",
              QJsonArray{state("deep", {{"initialValue", user}}),
                         state("flat", {{"initialValue", user}, {"mergeMode", "shallow"}}),
                         state("empty")}}});
    Daemon daemon(onLoopback(config));
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: deep,flat,empty")));

    for (const QString mode : {QStringLiteral("deep"), QStringLiteral("flat")}) {
        RawClient writer;
        const QJsonObject joined = openAndJoin(writer, daemon.url, "writer", QString(), mode);
        QCOMPARE(joined.value("state").toObject(), user);
        QCOMPARE(joined.value("mergeMode").toString(),
                 mode == QLatin1String("deep") ? QStringLiteral("deep")
                                               : QStringLiteral("shallow"));
        writer.update({{"user", QJsonObject{{"name", "bob"}}}}, 1);
        QCOMPARE(answerTo(writer, 1).value("type").toInt(), 3);

        // A client joining afterwards reads the server's value.
        RawClient reader;
        const QJsonObject value = openAndJoin(reader, daemon.url, "reader", QString(), mode)
                                          .value("state")
                                          .toObject();
        const QJsonObject expected = mode == QLatin1String("deep")
                ? QJsonObject{{"user", QJsonObject{{"name", "bob"}, {"age", 30}}}}
                : QJsonObject{{"user", QJsonObject{{"name", "bob"}}}};
        QCOMPARE(value, expected);
    }
    RawClient client;
    QCOMPARE(openAndJoin(client, daemon.url, "c", QString(), "empty").value("state").toObject(),
             QJsonObject());
}

void tst_DaemonConfig::ttlRemovesTheState()
{
    QTemporaryDir dir;
    const QString config
            = writeJson(dir, "config.json",
                        {{"states", QJsonArray{state("short", {{"ttl", 1000}}), state("long")}}});
    Daemon daemon(onLoopback(config));
    QVERIFY(daemon.start());
    RawClient shortLived;
    RawClient longLived;
    QVERIFY(openAndJoin(shortLived, daemon.url, "a", QString(), "short").contains("state"));
    QVERIFY(openAndJoin(longLived, daemon.url, "b", QString(), "long").contains("state"));

    const QJsonObject removed = shortLived.takeData(24);
    QCOMPARE(removed.value("stateIdentifier").toString(), QStringLiteral("short"));
    QCOMPARE(removed.value("reason").toString(), QStringLiteral("ttl"));
    QVERIFY(daemon.waitForLog("state short removed: ttl"));
    shortLived.join("short");
    QCOMPARE(shortLived.takeData(8).value("code").toString(), QStringLiteral("state_not_found"));
    // The state without a ttl is still there.
    longLived.update({{"x", 1}}, 1);
    QCOMPARE(answerTo(longLived, 1).value("type").toInt(), 3);
}

void tst_DaemonConfig::selfDestructWhenEmptyRemovesTheStateAfterTheLastClient()
{
    QTemporaryDir dir;
    const QString config
            = writeJson(dir, "config.json",
                        {{"states",
                          QJsonArray{state("room", {{"selfDestructWhenEmpty", true}}),
                                     state("keep", {{"selfDestructWhenEmpty", false}})}}});
    Daemon daemon(onLoopback(config));
    QVERIFY(daemon.start());
    RawClient a;
    RawClient b;
    QVERIFY(openAndJoin(a, daemon.url, "a", QString(), "room").contains("state"));
    QVERIFY(openAndJoin(b, daemon.url, "b", QString(), "room").contains("state"));

    // One client left, the state stays: a can come back.
    a.send(21, QJsonObject());
    QVERIFY(!a.takeData(23).isEmpty());
    a.join("room");
    QVERIFY(!a.takeData(7).isEmpty());
    a.send(21, QJsonObject());
    QVERIFY(!a.takeData(23).isEmpty());

    // The last one leaves by disconnecting: the state goes.
    b.socket.close();
    QVERIFY(daemon.waitForLog("state room removed: selfDestruct"));
    a.join("room");
    QCOMPARE(a.takeData(8).value("code").toString(), QStringLiteral("state_not_found"));

    // Without the flag, an empty state stays.
    a.join("keep");
    QVERIFY(!a.takeData(7).isEmpty());
    a.send(21, QJsonObject());
    QVERIFY(!a.takeData(23).isEmpty());
    a.join("keep");
    QVERIFY(!a.takeData(7).isEmpty());
}

namespace {
int threadsNamed(qint64 pid, const QByteArray &prefix);
// The daemon's threads that serve connections, by their names.
int ioThreadsOf(qint64 pid)
{
    return threadsNamed(pid, "QStateSync I/O");
}
int threadsNamed(qint64 pid, const QByteArray &prefix)
{
    int count = 0;
    const QDir tasks(QStringLiteral("/proc/%1/task").arg(pid));
    const QStringList entries = tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &task : entries) {
        QFile comm(tasks.filePath(task + QStringLiteral("/comm")));
        if (comm.open(QIODevice::ReadOnly) && comm.readAll().startsWith(prefix))
            ++count;
    }
    return count;
}
} // namespace

void tst_DaemonConfig::ioThreadsComeFromTheConfigurationAndTheCommandLine()
{
    QTemporaryDir dir;
    const QString config
            = writeJson(dir, "config.json", {{"ioThreads", 3}, {"states", QJsonArray{state("s")}}});
    {
        Daemon daemon(onLoopback(config));
        QVERIFY(daemon.start());
        // Each thread names itself once it runs.
        QTRY_COMPARE(ioThreadsOf(daemon.process.processId()), 3);
        RawClient client;
        QVERIFY(openAndJoin(client, daemon.url, "c", QString(), "s").contains("state"));
    }
    {
        Daemon daemon(onLoopback(config) + QStringList{"--io-threads", "0"});
        QVERIFY(daemon.start());
        QCOMPARE(ioThreadsOf(daemon.process.processId()), 0);
        RawClient client;
        QVERIFY(openAndJoin(client, daemon.url, "c", QString(), "s").contains("state"));
    }
}

void tst_DaemonConfig::stateThreadsComeFromTheConfigurationAndTheCommandLine()
{
    QTemporaryDir dir;
    const QString config = writeJson(dir, "config.json",
                                     {{"stateThreads", 3}, {"states", QJsonArray{state("s")}}});
    const auto appendAndCount = [](Daemon &daemon) {
        RawClient client;
        if (!openAndJoin(client, daemon.url, "c", QString(), "s").contains("state"))
            return -1;
        // The threads start with the first batch of changes.
        client.append(QJsonObject{{"list", QJsonArray{1}}}, 1);
        if (client.takeData(22).value("version").toInt() != 1)
            return -1;
        return threadsNamed(daemon.process.processId(), "QStateSync st");
    };
    {
        Daemon daemon(onLoopback(config));
        QVERIFY(daemon.start());
        QCOMPARE(appendAndCount(daemon), 3);
    }
    {
        Daemon daemon(onLoopback(config) + QStringList{"--state-threads", "0"});
        QVERIFY(daemon.start());
        QCOMPARE(appendAndCount(daemon), 0);
    }
    {
        Daemon daemon(
                onLoopback(writeJson(dir, "default.json", {{"states", QJsonArray{state("s")}}})));
        QVERIFY(daemon.start());
        QCOMPARE(appendAndCount(daemon), 0); // the default
    }
}

void tst_DaemonConfig::storageComesFromTheConfiguration()
{
    QTemporaryDir dir;
    const QString config = writeJson(dir, "config.json",
                                     {{"storage",
                                       QJsonObject{{"type", "sqlite"},
                                                   {"dataDirectory", "data"},
                                                   {"durability", "durable"},
                                                   {"commitInterval", 5}}},
                                      {"states", QJsonArray{state("s")}}});
    Daemon daemon(onLoopback(config));
    QVERIFY(daemon.start());
    // Relative to the configuration's folder.
    QVERIFY(QFileInfo::exists(dir.filePath("data/states.sqlite")));
    QStateSyncClient client(daemon.url, "c");
    QSignalSpy joined(&client, &QStateSyncClient::joined);
    QSignalSpy acknowledged(&client, &QStateSyncClient::updateAcknowledged);
    client.connectToState("s");
    QVERIFY(joined.wait(Timeout));
    client.updateState(QVariantMap{{"a", 1}});
    QVERIFY(acknowledged.wait(Timeout));
    QVERIFY(daemon.terminate());
    QVERIFY2(daemon.log().contains(QLatin1String("durable writes")), qPrintable(daemon.log()));
}

void tst_DaemonConfig::limitsAreEnforced()
{
    QTemporaryDir dir;
    const QString config
            = writeJson(dir, "config.json",
                        {{"limits", QJsonObject{{"maxMessageSize", 4096}, {"maxNestingDepth", 7}}},
                         {"states", QJsonArray{state("s")}}});
    Daemon daemon(onLoopback(config));
    QVERIFY(daemon.start());
    RawClient client;
    QVERIFY(openAndJoin(client, daemon.url, "c", QString(), "s").contains("state"));

    // {"type":3,"data":{"updates":{"a":{"b":{"c":{"d":{}}}}}}} nests 7 levels: the limit.
    client.update(
            {{"a", QJsonObject{{"b", QJsonObject{{"c", QJsonObject{{"d", QJsonObject{}}}}}}}}}, 1);
    QCOMPARE(answerTo(client, 1).value("type").toInt(), 3);
    client.update(
            {{"a",
              QJsonObject{{"b",
                           QJsonObject{{"c",
                                        QJsonObject{{"d", QJsonObject{{"e", QJsonObject{}}}}}}}}}}},
            2);
    QCOMPARE(answerTo(client, 2).value("data").toObject().value("code").toString(),
             QStringLiteral("nesting_too_deep"));

    client.update({{"big", QString(5000, u'x')}}, 3);
    QVERIFY(client.waitForDisconnect());
    QCOMPARE(client.socket.closeCode(), QWebSocketProtocol::CloseCodeTooMuchData);
}

void tst_DaemonConfig::clientStateAndRateLimitsAreEnforced()
{
    QTemporaryDir dir;
    const QString config = writeJson(dir, "config.json",
                                     {{"limits",
                                       QJsonObject{{"maxClientsPerState", 1},
                                                   {"maxClients", 2},
                                                   {"maxStateSize", 200},
                                                   {"updateRate", 0.01},
                                                   {"updateBurst", 2},
                                                   {"heartbeatInterval", 0},
                                                   {"maxPendingHandshakes", 100},
                                                   {"maxPendingOutput", 65536}}},
                                      {"states", QJsonArray{state("s"), state("t")}}});
    Daemon daemon(onLoopback(config));
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));
    RawClient first;
    RawClient second;
    QVERIFY(openAndJoin(first, daemon.url, "first", QString(), "s").contains("state"));
    QCOMPARE(openAndJoin(second, daemon.url, "second", QString(), "s").value("code").toString(),
             QStringLiteral("state_full"));

    first.update({{"small", 1}}, 1);
    QCOMPARE(answerTo(first, 1).value("type").toInt(), 3);
    first.update({{"big", QString(300, u'x')}}, 2);
    QCOMPARE(answerTo(first, 2).value("data").toObject().value("code").toString(),
             QStringLiteral("state_too_large"));
    first.update({{"small", 2}}, 3);
    QCOMPARE(answerTo(first, 3).value("data").toObject().value("code").toString(),
             QStringLiteral("rate_limited"));

    const HttpAnswer third = rawRequest(daemon.port(), upgradeRequest("/?identifier=third"));
    QCOMPARE(third.status, 503);
    QVERIFY(third.head.contains("Retry-After: 5"));
    QVERIFY(daemon.waitForLog("with 503"));
    const HttpResponse metrics = httpRequest(daemon.port(), "/metrics");
    QVERIFY2(metrics.body.contains("\nqstatesync_connections_over_limit_total 1\n"),
             metrics.body.constData());
    QVERIFY(metrics.body.contains("\nqstatesync_state_bytes{state=\"s\"} 11\n"));
}

void tst_DaemonConfig::stateExistenceIsHiddenUnlessRevealed()
{
    // "closed" exists, but the access rules let nobody join it.
    QTemporaryDir dir;
    const QJsonArray access{QJsonObject{{"states", "closed"}, {"join", false}},
                            QJsonObject{{"states", "*"}, {"join", true}, {"write", true}}};
    for (const bool reveal : {false, true}) {
        QJsonObject root{{"states", QJsonArray{state("closed")}}, {"access", access}};
        if (reveal)
            root.insert("revealStateExistence", true);
        const QString config = writeJson(dir, "config.json", root);
        Daemon daemon(onLoopback(config));
        QVERIFY2(daemon.start(), qPrintable(daemon.log()));
        RawClient client;
        QVERIFY(client.open(daemon.url, "curious"));
        client.join("closed");
        QVERIFY(!client.take(8).isEmpty());
        const QString refused = client.texts.last();
        // A state that does not exist, asked for under the same name once it is gone.
        client.join("nothing");
        QVERIFY(!client.take(8).isEmpty());
        const QString missing = client.texts.last();
        if (reveal) {
            QVERIFY(refused.contains(QLatin1String("join_refused")));
            QVERIFY(missing.contains(QLatin1String("state_not_found")));
        } else {
            QCOMPARE(QString(refused).replace(QLatin1String("closed"), QLatin1String("nothing")),
                     missing);
            QVERIFY(refused.contains(QLatin1String("state_not_found")));
        }
    }
}

void tst_DaemonConfig::commandLineOverridesTheFile()
{
    // The file names a port that is taken and a tiny message limit; the command line
    // replaces both and adds a state. (The occupant keeps its states in memory: the
    // daemons of a test share a data folder, which one process may use at a time.)
    Daemon occupant({"--port", "0", "--host", "127.0.0.1", "--storage", "memory"});
    QVERIFY(occupant.start());
    QTemporaryDir dir;
    const QString config
            = writeJson(dir, "config.json",
                        {{"listen", QJsonObject{{"host", "127.0.0.1"}, {"port", occupant.port()}}},
                         {"limits", QJsonObject{{"maxMessageSize", 100}}},
                         {"states", QJsonArray{state("fromfile")}}});
    Daemon daemon({"--config", config, "--port", "0", "--max-message-size", "100000", "--state",
                   "extra"});
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));
    QVERIFY(daemon.port() != occupant.port());
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: fromfile,extra")));
    RawClient client;
    QVERIFY(openAndJoin(client, daemon.url, "c", QString(), "extra").contains("state"));
    client.update({{"text", QString(5000, u'x')}}, 1);
    QCOMPARE(answerTo(client, 1).value("type").toInt(), 3);
}

void tst_DaemonConfig::checkConfigValidatesWithoutListening()
{
    QTemporaryDir dir;
    writeFile(dir, "hooks.js", "function authorize(request) { return true; }\n");
    const QString config = writeJson(dir, "config.json",
                                     {{"hooks", "hooks.js"}, {"states", QJsonArray{state("s")}}});
    const Finished finished = runToEnd({"--config", config, "--check-config"});
    QCOMPARE(finished.exitCode, 0);
    QVERIFY2(finished.output.contains(QLatin1String("configuration OK")),
             qPrintable(finished.output));
    QVERIFY(!finished.output.contains(QLatin1String("listening")));
}

void tst_DaemonConfig::checkConfigLeavesTheDatabaseAlone()
{
    // A directory that does not exist yet: checked, not made.
    QTemporaryDir dir;
    const QString fresh = dir.filePath("not/yet");
    Finished finished = runToEnd({"--state", "s", "--data-dir", fresh, "--check-config"});
    QCOMPARE(finished.exitCode, 0);
    QVERIFY2(finished.output.contains(QLatin1String("configuration OK")),
             qPrintable(finished.output));
    QVERIFY(QDir(dir.path()).isEmpty());

    // The directory of a running daemon: its database is neither opened nor locked.
    Daemon running({"--port", "0", "--host", "127.0.0.1", "--data-dir", dir.path()});
    QVERIFY(running.start());
    const QDateTime modified = QFileInfo(dir.filePath("states.sqlite")).lastModified();
    finished = runToEnd({"--state", "s", "--data-dir", dir.path(), "--check-config"});
    QCOMPARE(finished.exitCode, 0);
    QVERIFY2(!finished.output.contains(QLatin1String("in use")), qPrintable(finished.output));
    QCOMPARE(QFileInfo(dir.filePath("states.sqlite")).lastModified(), modified);
    QVERIFY(running.terminate());

    // A directory that cannot be made is still a mistake.
    finished = runToEnd({"--data-dir", "/proc/qstatesyncd-test", "--check-config"});
    QCOMPARE(finished.exitCode, 2);
    QVERIFY2(finished.output.contains(QLatin1String("cannot create the data directory")),
             qPrintable(finished.output));
}

void tst_DaemonConfig::exampleConfigurationRuns()
{
    const QByteArray secret = "example secret";
    QProcessEnvironment environment = daemonEnvironment();
    environment.insert(QStringLiteral("QSTATESYNC_JWT_SECRET"), QString::fromLatin1(secret));
    Daemon daemon({"--config", QStringLiteral(QSTATESYNCD_SOURCE_DIR "/qstatesyncd.example.json"),
                   "--port", "0"},
                  environment);
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));
    QVERIFY(daemon.stdoutText.contains(QLatin1String("states: chat,board,lobby,scratch")));

    const QByteArray editor = makeJwt(
            {{"sub", "ann"}, {"roles", QJsonArray{"editor"}}, {"exp", secondsFromNow(600)}},
            secret);
    const QByteArray viewer = makeJwt(
            {{"sub", "vic"}, {"roles", QJsonArray{"viewer"}}, {"exp", secondsFromNow(600)}},
            secret);
    RawClient ann;
    RawClient vic;
    QVERIFY(openAndJoin(ann, daemon.url, "ann", editor, "chat").contains("state"));
    ann.append({{"messages", QJsonArray{QJsonObject{{"text", "  hello  "}}}}}, 1);
    const QJsonObject message = answerTo(ann, 1)
                                        .value("data")
                                        .toObject()
                                        .value("appends")
                                        .toObject()
                                        .value("messages")
                                        .toArray()
                                        .first()
                                        .toObject();
    QCOMPARE(message.value("text").toString(), QStringLiteral("hello"));
    QCOMPARE(message.value("author").toString(), QStringLiteral("ann"));
    ann.update({{"messages", QJsonArray()}}, 2);
    QCOMPARE(answerTo(ann, 2).value("data").toObject().value("code").toString(),
             QStringLiteral("update_refused"));

    QVERIFY(openAndJoin(vic, daemon.url, "vic", viewer, "board").contains("state"));
    vic.update({{"title", "mine"}}, 1);
    QCOMPARE(answerTo(vic, 1).value("data").toObject().value("code").toString(),
             QStringLiteral("update_refused"));
    // A token without an expiry is refused: the example requires one.
    QCOMPARE(rawRequest(daemon.port(),
                        upgradeRequest("/?identifier=x&token=" + makeJwt({{"sub", "x"}}, secret)))
                     .status,
             401);
    QVERIFY(daemon.terminate());
}

void tst_DaemonConfig::exampleQmlHooksLoad()
{
    const Finished finished
            = runToEnd({"--hooks", QStringLiteral(QSTATESYNCD_SOURCE_DIR "/hooks.example.qml"),
                        "--check-config"});
    QCOMPARE(finished.exitCode, 0);
    QVERIFY2(finished.output.contains(QLatin1String("authorize, updateRequested")),
             qPrintable(finished.output));
}

void tst_DaemonConfig::mistakesExitWithTwoAndNameTheKey_data()
{
    QTest::addColumn<QByteArray>("config");
    QTest::addColumn<QString>("complaint");
    QTest::addRow("not JSON") << QByteArray("{\n  \"states\": [,]\n}") << "line 2";
    QTest::addRow("not an object") << QByteArray("[]") << "must hold a JSON object";
    QTest::addRow("unknown key") << QByteArray(R"({"lisen": {}})")
                                 << "lisen: unknown key (known here: access, auth, hooks, http, "
                                    "ioThreads, limits, listen, revealStateExistence, "
                                    "stateThreads, states, storage, tls)";
    QTest::addRow("unknown storage type")
            << QByteArray(R"({"storage": {"type": "disk"}})") << "storage.type: must be";
    QTest::addRow("unknown durability")
            << QByteArray(R"({"storage": {"durability": "often"}})") << "storage.durability";
    QTest::addRow("commit interval too long")
            << QByteArray(R"({"storage": {"commitInterval": 600000}})") << "storage.commitInterval";
    QTest::addRow("unknown storage key")
            << QByteArray(R"({"storage": {"file": "x"}})") << "storage.file: unknown key";
    QTest::addRow("unknown nested key")
            << QByteArray(R"({"listen": {"prot": 1}})") << "listen.prot: unknown key";
    QTest::addRow("port is a string")
            << QByteArray(R"({"listen": {"port": "80"}})") << "listen.port: must be a whole number";
    QTest::addRow("port too large") << QByteArray(R"({"listen": {"port": 70000}})")
                                    << "listen.port: must be a whole number";
    QTest::addRow("port fractional")
            << QByteArray(R"({"listen": {"port": 1.5}})") << "listen.port: must be a whole number";
    QTest::addRow("host not an address")
            << QByteArray(R"({"listen": {"host": "example.com"}})") << "listen.host: must be an IP";
    QTest::addRow("tls without key")
            << QByteArray(R"({"tls": {"certificate": "c.pem"}})") << "tls: needs both";
    QTest::addRow("depth too small")
            << QByteArray(R"({"limits": {"maxNestingDepth": 2}})") << "limits.maxNestingDepth";
    QTest::addRow("too many I/O threads") << QByteArray(R"({"ioThreads": 65})") << "ioThreads";
    QTest::addRow("too many state threads")
            << QByteArray(R"({"stateThreads": 65})") << "stateThreads";
    QTest::addRow("negative hook timeout")
            << QByteArray(R"({"limits": {"hookTimeout": -5}})") << "limits.hookTimeout";
    QTest::addRow("negative heartbeat")
            << QByteArray(R"({"limits": {"heartbeatInterval": -1}})")
            << "limits.heartbeatInterval: must be a whole number from 0";
    QTest::addRow("state size not a number") << QByteArray(R"({"limits": {"maxStateSize": "16M"}})")
                                             << "limits.maxStateSize: must be a whole number";
    QTest::addRow("fractional client limit")
            << QByteArray(R"({"limits": {"maxClients": 2.5}})") << "limits.maxClients";
    QTest::addRow("negative clients per state")
            << QByteArray(R"({"limits": {"maxClientsPerState": -1}})")
            << "limits.maxClientsPerState";
    QTest::addRow("negative rate") << QByteArray(R"({"limits": {"updateRate": -0.5}})")
                                   << "limits.updateRate: must be a number from 0 to 1e+06";
    QTest::addRow("rate a string") << QByteArray(R"({"limits": {"updateRate": "fast"}})")
                                   << "limits.updateRate: must be a number";
    QTest::addRow("burst of zero") << QByteArray(R"({"limits": {"updateBurst": 0}})")
                                   << "limits.updateBurst: must be a whole number from 1";
    QTest::addRow("negative pending handshakes")
            << QByteArray(R"({"limits": {"maxPendingHandshakes": -3}})")
            << "limits.maxPendingHandshakes";
    QTest::addRow("pending output too large")
            << QByteArray(R"({"limits": {"maxPendingOutput": 1e15}})") << "limits.maxPendingOutput";
    QTest::addRow("misspelt limit")
            << QByteArray(R"({"limits": {"maxClient": 5}})") << "limits.maxClient: unknown key";
    QTest::addRow("reveal not a boolean") << QByteArray(R"({"revealStateExistence": "yes"})")
                                          << "revealStateExistence: must be true or false";
    QTest::addRow("states not a list")
            << QByteArray(R"({"states": {"a": {}}})") << "states: must be an array";
    QTest::addRow("state without identifier")
            << QByteArray(R"({"states": [{"ttl": 5}]})") << "states[0].identifier: is required";
    QTest::addRow("state twice") << QByteArray(R"({"states": [{"identifier": "a"},
                                                             {"identifier": "a"}]})")
                                 << "states[1].identifier: state a is defined twice";
    QTest::addRow("initial value not an object")
            << QByteArray(R"({"states": [{"identifier": "a", "initialValue": [1]}]})")
            << "states[0].initialValue: must be an object, not an array";
    QTest::addRow("negative ttl") << QByteArray(R"({"states": [{"identifier": "a", "ttl": -1}]})")
                                  << "states[0].ttl";
    QTest::addRow("bad merge mode")
            << QByteArray(R"({"states": [{"identifier": "a", "mergeMode": "merge"}]})")
            << "states[0].mergeMode: must be \"deep\" or \"shallow\"";
    QTest::addRow("self destruct not a boolean")
            << QByteArray(R"({"states": [{"identifier": "a", "selfDestructWhenEmpty": "yes"}]})")
            << "states[0].selfDestructWhenEmpty: must be true or false";
    QTest::addRow("unknown state key")
            << QByteArray(R"({"states": [{"identifier": "a", "tll": 5}]})")
            << "states[0].tll: unknown key";
    QTest::addRow("access not a list")
            << QByteArray(R"({"access": {"states": "*"}})") << "access: must be an array";
    QTest::addRow("access without states")
            << QByteArray(R"({"access": [{"join": true}]})") << "access[0].states: is required";
    QTest::addRow("access join wrong type")
            << QByteArray(R"({"access": [{"states": "*", "join": "yes"}]})")
            << "access[0].join: must be true, false or a list of conditions";
    QTest::addRow("condition without claim")
            << QByteArray(R"({"access": [{"states": "*", "join": [{"equals": 1}]}]})")
            << "access[0].join[0].claim: is required";
    QTest::addRow("condition with two tests") << QByteArray(
            R"({"access": [{"states": "*", "write": [{"claim": "a", "equals": 1, "present": true}]}]})")
                                              << "access[0].write[0]: needs exactly one of";
    QTest::addRow("anyOf empty") << QByteArray(
            R"({"access": [{"states": "*", "join": [{"claim": "a", "anyOf": []}]}]})")
                                 << "access[0].join[0].anyOf: must be a non-empty list";
    QTest::addRow("allOf part wrong") << QByteArray(
            R"({"access": [{"states": "*", "join": [{"allOf": [{"claim": "a", "equal": 1}]}]}]})")
                                      << "access[0].join[0].allOf[0].equal: unknown key";
    QTest::addRow("audience not a string")
            << QByteArray(R"({"auth": {"jwt": {"audience": [1]}}})") << "auth.jwt.audience";
    QTest::addRow("jwt without a secret")
            << QByteArray(R"({"auth": {"jwt": {}}})") << "no JWT secret was given";
    QTest::addRow("required token nobody checks")
            << QByteArray(R"({"auth": {"requireToken": true}})")
            << "auth.requireToken needs a JWT secret or an authorize hook";
    QTest::addRow("missing secret file")
            << QByteArray(R"({"auth": {"jwt": {"secretFile": "nope.secret"}}})")
            << "cannot read the JWT secret file";
    QTest::addRow("hooks with a syntax error")
            << QByteArray(R"({"hooks": "broken.js"})") << "broken.js:2: SyntaxError";
    QTest::addRow("hooks not a function")
            << QByteArray(R"({"hooks": "notafunction.js"})") << "authorize must be a function";
    QTest::addRow("hooks of another kind")
            << QByteArray(R"({"hooks": "hooks.txt"})") << "must end in .js or .qml";
    QTest::addRow("qml hooks with an error")
            << QByteArray(R"({"hooks": "broken.qml"})") << "broken.qml";
}

void tst_DaemonConfig::mistakesExitWithTwoAndNameTheKey()
{
    QFETCH(QByteArray, config);
    QFETCH(QString, complaint);
    QTemporaryDir dir;
    writeFile(dir, "broken.js", "function authorize(request) {\n  return (;\n}\n");
    writeFile(dir, "notafunction.js", "var authorize = 42;\n");
    writeFile(dir, "hooks.txt", "");
    writeFile(dir, "broken.qml", "import QtQml\nQtObject { notAProperty: 1 }\n");
    const QString file = writeFile(dir, "config.json", config);
    const Finished finished = runToEnd({"--config", file, "--port", "0", "--host", "127.0.0.1"});
    QCOMPARE(finished.exitCode, 2);
    QVERIFY2(finished.output.contains(complaint), qPrintable(finished.output));
    QVERIFY2(!finished.output.contains(QLatin1String("listening")), qPrintable(finished.output));
}

QTEST_GUILESS_MAIN(tst_DaemonConfig)
#include "tst_daemonconfig.moc"
