// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Interop with the JavaScript server-state-sync. Its clients and its server are stood in
// for by v1client.js and v1server.js, written from shared/protocol-v1.md alone and run by
// Node.js: an application of the original that meets QStateSyncer, and a QStateSyncClient
// pointed at the original, must both keep working.

#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qprocess.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <functional>
#include <memory>
#include <optional>

using namespace TestSupport;

namespace {

const QString nodeExecutable = QStringLiteral(QSTATESYNC_NODE_EXECUTABLE);
const QString interopDirectory = QStringLiteral(QSTATESYNC_INTEROP_DIR);

QString scriptPath(const QString &name)
{
    return interopDirectory + QLatin1Char('/') + name;
}

// A v1 client stores the null the server broadcasts for a deleted key, because the
// original client merges `{...copy, ...updates}` and v1 has no deletion. The server no
// longer has the key, so the copy is compared without its top-level nulls. Nested nulls
// never reach a v1 client: QStateSyncer sends it the whole new top-level value, in which
// the deep merge has already removed them.
QJsonObject withoutTopLevelNulls(QJsonObject copy)
{
    for (auto it = copy.begin(); it != copy.end();) {
        if (it.value().isNull())
            it = copy.erase(it);
        else
            ++it;
    }
    return copy;
}

} // namespace

// A Node.js script driven through its standard input, reporting on its standard output
// one "EVENT {json}" line at a time. The destructor kills the process, so that a test
// leaving early on a failed check leaves no node behind.
class NodePeer : public QObject
{
    Q_OBJECT

public:
    using Filter = std::function<bool(const QJsonObject &)>;

    explicit NodePeer(const QString &name, QObject *parent = nullptr)
        : QObject(parent)
        , m_name(name)
    {
        m_process.setWorkingDirectory(interopDirectory);
        connect(&m_process, &QProcess::readyReadStandardOutput, this, &NodePeer::readOutput);
        connect(&m_process, &QProcess::readyReadStandardError, this,
                [this] { m_stderr += m_process.readAllStandardError(); });
        connect(&m_process, &QProcess::finished, this, [this] {
            readOutput();
            Q_EMIT changed();
        });
        connect(&m_process, &QProcess::errorOccurred, this, &NodePeer::changed);
    }

    ~NodePeer() override { stop(); }

    bool start(const QString &script, const QStringList &arguments)
    {
        m_process.start(nodeExecutable, QStringList{scriptPath(script)} + arguments);
        return m_process.waitForStarted(Timeout);
    }

    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.kill();
        m_process.waitForFinished(Timeout);
    }

    void send(const QString &line) { m_process.write(line.toUtf8() + '\n'); }

    // Takes the oldest event called name that passes filter and was not taken yet,
    // waiting for it; nothing when the time is up or the script has ended.
    std::optional<QJsonObject> take(const QString &name, const Filter &filter = {},
                                    int timeout = Timeout)
    {
        QDeadlineTimer deadline(timeout);
        forever {
            for (qsizetype i = 0; i < m_events.size(); ++i) {
                const Event &event = m_events.at(i);
                if (event.name == name && (!filter || filter(event.data)))
                    return m_events.takeAt(i).data;
            }
            if (m_process.state() == QProcess::NotRunning || deadline.hasExpired())
                return std::nullopt;
            QSignalSpy spy(this, &NodePeer::changed);
            spy.wait(int(qMax<qint64>(deadline.remainingTime(), 1)));
        }
    }

    // A v1 message of type received by a v1client.js, with the client's copy after it.
    std::optional<QJsonObject> takeReceived(int type, int timeout = Timeout)
    {
        return take(
                QStringLiteral("RECEIVED"),
                [type](const QJsonObject &data) {
                    return data.value(QLatin1String("message"))
                                   .toObject()
                                   .value(QLatin1String("type"))
                                   .toInt()
                            == type;
                },
                timeout);
    }

    // What to print when the script did not answer: what it said, and how it ended.
    QString diagnostics() const
    {
        QString text = m_name + QLatin1String(": no expected answer");
        if (m_process.state() == QProcess::NotRunning) {
            text += QStringLiteral("; the process ended (exit code %1, %2)")
                            .arg(m_process.exitCode())
                            .arg(m_process.errorString());
        }
        QStringList pending;
        for (const Event &event : m_events)
            pending.append(event.name + QLatin1Char(' ') + compact(event.data));
        if (!pending.isEmpty())
            text += QLatin1String("; events not taken: ") + pending.join(QLatin1String(" | "));
        if (!m_stderr.isEmpty())
            text += QLatin1String("; stderr: ") + QString::fromLocal8Bit(m_stderr.trimmed());
        return text;
    }

Q_SIGNALS:
    void changed();

private:
    struct Event
    {
        QString name;
        QJsonObject data;
    };

    void readOutput()
    {
        m_partial += m_process.readAllStandardOutput();
        qsizetype end;
        bool any = false;
        while ((end = m_partial.indexOf('\n')) >= 0) {
            const QByteArray line = m_partial.left(end).trimmed();
            m_partial.remove(0, end + 1);
            const qsizetype space = line.indexOf(' ');
            Event event;
            event.name = QString::fromUtf8(space < 0 ? line : line.left(space));
            if (space >= 0)
                event.data = QJsonDocument::fromJson(line.mid(space + 1)).object();
            m_events.append(event);
            any = true;
        }
        if (any)
            Q_EMIT changed();
    }

    QString m_name;
    QProcess m_process;
    QByteArray m_partial;
    QByteArray m_stderr;
    QList<Event> m_events;
};

class tst_Interop : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void originalClientWorksAgainstOurServer();
    void originalClientGetsTheV1Errors();
    void ourClientWorksAgainstTheOriginalProtocol();
    void ourClientAgainstAServerThatEchoesTheSubprotocol();

private:
    std::unique_ptr<NodePeer> startClient(const QUrl &url, const QString &identifier,
                                          const QStringList &actions = {});
    std::unique_ptr<NodePeer> startServer(const QStringList &arguments);
    void checkInSync(const QString &step, const QStateSyncer &server,
                     const QList<NodePeer *> &jsClients, const QStateSyncClient &qtClient);
};

void tst_Interop::initTestCase()
{
    // ctest runs interop_npm_install first; run by hand, the suite needs it done once.
    QVERIFY2(QFileInfo::exists(interopDirectory + QStringLiteral("/node_modules/ws/package.json")),
             "ws is not installed next to the scripts: run `ctest -R interop`, whose "
             "interop_npm_install fixture installs it");
    QVERIFY2(QFileInfo(nodeExecutable).isExecutable(), qPrintable(nodeExecutable));
}

std::unique_ptr<NodePeer> tst_Interop::startClient(const QUrl &url, const QString &identifier,
                                                   const QStringList &actions)
{
    auto client = std::make_unique<NodePeer>(identifier);
    if (!client->start(QStringLiteral("v1client.js"),
                       QStringList{url.toString(), identifier} + actions))
        qWarning("node did not start: %s", qPrintable(client->diagnostics()));
    return client;
}

std::unique_ptr<NodePeer> tst_Interop::startServer(const QStringList &arguments)
{
    auto server = std::make_unique<NodePeer>(QStringLiteral("v1server"));
    if (!server->start(QStringLiteral("v1server.js"), arguments))
        qWarning("node did not start: %s", qPrintable(server->diagnostics()));
    return server;
}

// Each step is one update, so every v1 client gets exactly one STATE_UPDATED for it.
void tst_Interop::checkInSync(const QString &step, const QStateSyncer &server,
                              const QList<NodePeer *> &jsClients, const QStateSyncClient &qtClient)
{
    for (NodePeer *js : jsClients) {
        const auto received = js->takeReceived(3);
        QVERIFY2(received, qPrintable(step + QLatin1String(": ") + js->diagnostics()));
        // Read after the broadcast arrived, so the update of this step is in it.
        const QJsonObject value = *server.valueOfState(QStringLiteral("doc"));
        const QJsonObject copy = received->value(QLatin1String("copy")).toObject();
        QVERIFY2(withoutTopLevelNulls(copy) == value,
                 qPrintable(QStringLiteral("%1: v1 copy %2, server %3")
                                    .arg(step, compact(copy), compact(value))));
    }
    QTRY_COMPARE(qtClient.jsonValue(), *server.valueOfState(QStringLiteral("doc")));
}

void tst_Interop::originalClientWorksAgainstOurServer()
{
    QStateSyncer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    const QJsonObject initial{
            {"title", "draft"},
            {"meta", QJsonObject{{"author", "ann"}, {"tags", QJsonArray{"a"}}, {"draft", true}}},
            {"list", QJsonArray{1}},
            {"gone", "soon"},
            {"counter", 0}};
    QStateSyncStateOptions options;
    options.setIdentifier(QStringLiteral("doc"));
    options.setInitialValue(initial);
    QCOMPARE(options.mergeMode(), QStateSync::MergeMode::Deep);
    QCOMPARE(server.createState(options), QStringLiteral("doc"));

    auto js1 = startClient(urlOf(server), QStringLiteral("js1"));
    auto js2 = startClient(urlOf(server), QStringLiteral("js2"));
    for (NodePeer *js : {js1.get(), js2.get()}) {
        const auto opened = js->take(QStringLiteral("OPEN"));
        QVERIFY2(opened, qPrintable(js->diagnostics()));
        // No subprotocol offered, none selected: QStateSyncer speaks v1 with it.
        QCOMPARE(opened->value(QLatin1String("protocol")).toString(), QString());
    }

    // An unknown state first, then the real one: the failed join must not break the
    // connection.
    js1->send(QStringLiteral("JOIN missing"));
    const auto joinError = js1->takeReceived(8);
    QVERIFY2(joinError, qPrintable(js1->diagnostics()));
    const QJsonValue errorMessage = joinError->value(QLatin1String("message"))
                                            .toObject()
                                            .value(QLatin1String("data"))
                                            .toObject()
                                            .value(QLatin1String("message"));
    QVERIFY2(errorMessage.isString() && !errorMessage.toString().isEmpty(),
             qPrintable(compact(*joinError)));

    for (NodePeer *js : {js1.get(), js2.get()}) {
        js->send(QStringLiteral("JOIN doc"));
        const auto established = js->takeReceived(7);
        QVERIFY2(established, qPrintable(js->diagnostics()));
        QCOMPARE(established->value(QLatin1String("copy")).toObject(), initial);
    }
    QStateSyncClient qt(urlOf(server), QStringLiteral("qt"));
    QSignalSpy joined(&qt, &QStateSyncClient::joined);
    qt.connectToState(QStringLiteral("doc"));
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(qt.protocolVersion(), QStateSyncClient::ProtocolV2);
    QCOMPARE(server.clientsOfState(QStringLiteral("doc")).size(), 3);

    const QList<NodePeer *> jsClients{js1.get(), js2.get()};
    auto jsUpdate = [](NodePeer *js, const QJsonObject &updates) {
        js->send(QStringLiteral("UPDATE ") + compact(updates));
    };
#define CHECK_STEP(name) \
    do { \
        checkInSync(QStringLiteral(name), server, jsClients, qt); \
        if (QTest::currentTestFailed()) \
            return; \
    } while (false)

    jsUpdate(js1.get(), {{"title", "first"}});
    CHECK_STEP("plain value from a v1 client");

    // A v1 client means to replace meta, but the state merges deep: the other v1 client
    // is still right because it is sent the whole merged meta.
    jsUpdate(js2.get(), {{"meta", QJsonObject{{"draft", false}}}});
    CHECK_STEP("nested object from a v1 client");
    QCOMPARE(server.valueOfState("doc")->value("meta").toObject().value("author").toString(),
             QStringLiteral("ann"));

    qt.updateState(QJsonObject{
            {"meta", QJsonObject{{"editor", QJsonObject{{"name", "bob"}, {"since", 1}}}}}});
    CHECK_STEP("two levels deep from the Qt client");

    jsUpdate(js1.get(), {{"meta", QJsonObject{{"author", QJsonValue::Null}}}});
    CHECK_STEP("nested null from a v1 client");
    QVERIFY(!server.valueOfState("doc")->value("meta").toObject().contains("author"));

    qt.updateState(QJsonObject{
            {"meta", QJsonObject{{"editor", QJsonObject{{"since", QJsonValue::Null}}}}}});
    CHECK_STEP("nested null from the Qt client");

    jsUpdate(js2.get(), {{"gone", QJsonValue::Null}});
    CHECK_STEP("top-level null from a v1 client");
    QVERIFY(!server.valueOfState("doc")->contains("gone"));

    qt.updateState(QJsonObject{{"counter", QJsonValue::Null}});
    CHECK_STEP("top-level null from the Qt client");
    QVERIFY(!server.valueOfState("doc")->contains("counter"));
    QVERIFY(!qt.jsonValue().contains("counter"));
    for (NodePeer *js : jsClients) {
        js->send(QStringLiteral("COPY"));
        const auto copy = js->take(QStringLiteral("COPY"));
        QVERIFY2(copy, qPrintable(js->diagnostics()));
        // The v1 divergence that withoutTopLevelNulls() forgives, seen once on purpose.
        QCOMPARE(copy->value(QLatin1String("copy")).toObject().value(QLatin1String("counter")),
                 QJsonValue(QJsonValue::Null));
    }

    // v1 clients know no append: they are sent the whole new array.
    QVERIFY(qt.append(QStringLiteral("list"), QJsonArray{2, 3}) > 0);
    CHECK_STEP("append from the Qt client");
    QCOMPARE(server.valueOfState("doc")->value("list").toArray(), QJsonArray({1, 2, 3}));

    // ...and append the way the original's README does, with the whole array.
    jsUpdate(js1.get(), {{"list", QJsonArray{1, 2, 3, 4}}});
    CHECK_STEP("whole array from a v1 client");

    jsUpdate(js2.get(), {{"gone", "back"}, {"meta", QJsonObject{{"tags", QJsonArray{"x", "y"}}}}});
    CHECK_STEP("deleted key set again, array inside an object replaced");
#undef CHECK_STEP

    // Then all at once: whatever order the server applies them in, every copy ends on the
    // server's value.
    constexpr int Rounds = 5;
    for (int i = 0; i < Rounds; ++i) {
        jsUpdate(js1.get(), {{"title", QStringLiteral("js1 %1").arg(i)}});
        jsUpdate(js2.get(), {{"meta", QJsonObject{{"round", i}, {"draft", i % 2 == 0}}}});
        qt.append(QStringLiteral("list"), QJsonArray{100 + i});
        qt.updateState(QJsonObject{{"meta", QJsonObject{{"qt", i}}}, {"title", QJsonValue::Null}});
    }
    const int concurrentUpdates = 4 * Rounds;
    for (NodePeer *js : jsClients) {
        std::optional<QJsonObject> last;
        for (int i = 0; i < concurrentUpdates; ++i) {
            last = js->takeReceived(3);
            QVERIFY2(last, qPrintable(js->diagnostics()));
        }
        QCOMPARE(withoutTopLevelNulls(last->value(QLatin1String("copy")).toObject()),
                 *server.valueOfState(QStringLiteral("doc")));
    }
    QTRY_COMPARE(qt.jsonValue(), *server.valueOfState(QStringLiteral("doc")));
    const QJsonArray list = server.valueOfState("doc")->value("list").toArray();
    QCOMPARE(list.size(), 4 + Rounds); // no append lost
    QCOMPARE(list.last(), QJsonValue(100 + Rounds - 1));
}

void tst_Interop::originalClientGetsTheV1Errors()
{
    QStateSyncer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    QStateSyncStateOptions options;
    options.setIdentifier(QStringLiteral("doc"));
    server.createState(options);
    auto js = startClient(urlOf(server), QStringLiteral("js"));
    QVERIFY2(js->take(QStringLiteral("OPEN")), qPrintable(js->diagnostics()));

    auto messageOf = [](const std::optional<QJsonObject> &received) {
        return received->value(QLatin1String("message"))
                .toObject()
                .value(QLatin1String("data"))
                .toObject()
                .value(QLatin1String("message"))
                .toString();
    };

    js->send(QStringLiteral("UPDATE {\"a\":1}"));
    const auto notJoined = js->takeReceived(9);
    QVERIFY2(notJoined, qPrintable(js->diagnostics()));
    QVERIFY(!messageOf(notJoined).isEmpty());

    js->send(QStringLiteral("SEND {\"type\":42,\"data\":null}"));
    const auto unsupported = js->takeReceived(10);
    QVERIFY2(unsupported, qPrintable(js->diagnostics()));
    QVERIFY2(messageOf(unsupported).contains(QLatin1String("42")),
             qPrintable(messageOf(unsupported)));

    js->send(QStringLiteral("SEND {\"type\":2,\"data\":{}}"));
    const auto noIdentifier = js->takeReceived(8);
    QVERIFY2(noIdentifier, qPrintable(js->diagnostics()));
    QVERIFY(!messageOf(noIdentifier).isEmpty());

    // None of these errors closes the connection.
    js->send(QStringLiteral("JOIN doc"));
    QVERIFY2(js->takeReceived(7), qPrintable(js->diagnostics()));
    QCOMPARE(server.clientsOfState(QStringLiteral("doc")), QStringList{QStringLiteral("js")});
}

void tst_Interop::ourClientWorksAgainstTheOriginalProtocol()
{
    const QJsonObject initial{
            {"doc", QJsonObject{{"a", 1}, {"b", 2}}}, {"list", QJsonArray{1}}, {"title", "first"}};
    auto v1server
            = startServer({QStringLiteral("--state"), QStringLiteral("room"), compact(initial)});
    const auto listening = v1server->take(QStringLiteral("PORT"));
    QVERIFY2(listening, qPrintable(v1server->diagnostics()));
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/")
                           .arg(listening->value(QLatin1String("port")).toInt()));
    // Without an answer, a value that names the problem makes the comparison fail.
    auto serverValue = [&v1server] {
        v1server->send(QStringLiteral("VALUE room"));
        const auto answer = v1server->take(QStringLiteral("VALUE"));
        return answer ? answer->value(QLatin1String("value")).toObject()
                      : QJsonObject{{"no answer", v1server->diagnostics()}};
    };
    auto serverSaw = [&v1server](const QString &client) {
        return v1server->take(QStringLiteral("UPDATED"), [client](const QJsonObject &data) {
            return data.value(QLatin1String("client")).toString() == client;
        });
    };

    QStateSyncClient qt(url, QStringLiteral("qt"));
    QSignalSpy joined(&qt, &QStateSyncClient::joined);
    QSignalSpy updated(&qt, &QStateSyncClient::stateUpdated);
    QSignalSpy acknowledged(&qt, &QStateSyncClient::updateAcknowledged);
    qt.connectToState(QStringLiteral("room"));
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(qt.protocolVersion(), QStateSyncClient::ProtocolV1);
    QCOMPARE(qt.requestedProtocolVersion(), QStateSyncClient::ProtocolV2);
    QCOMPARE(qt.jsonValue(), initial);
    QVERIFY2(v1server->take(QStringLiteral("JOINED")), qPrintable(v1server->diagnostics()));

    auto js = startClient(url, QStringLiteral("js"),
                          {QStringLiteral("--join"), QStringLiteral("room")});
    QVERIFY2(js->takeReceived(7), qPrintable(js->diagnostics()));

    // The original merges one level deep, so the nested object replaces doc whole, and the
    // client must merge its broadcast the same way to keep the server's value.
    const QJsonObject nested{{"doc", QJsonObject{{"a", 10}}}, {"title", "second"}};
    QVERIFY(qt.updateState(nested) > 0);
    auto saw = serverSaw(QStringLiteral("qt"));
    QVERIFY2(saw, qPrintable(v1server->diagnostics()));
    QCOMPARE(saw->value(QLatin1String("updates")).toObject(), nested);
    QTRY_COMPARE(updated.count(), 1);
    QCOMPARE(qt.jsonValue().value(QLatin1String("doc")).toObject(), QJsonObject({{"a", 10}}));
    QCOMPARE(qt.jsonValue(), serverValue());

    // A v1 server sends the update of another client the same way.
    js->send(QStringLiteral("UPDATE {\"count\":1}"));
    QTRY_COMPARE(updated.count(), 2);
    QCOMPARE(updated.at(1).at(0).toMap(), QVariantMap({{"count", 1}}));
    QCOMPARE(qt.jsonValue(), serverValue());

    // v1 has no append: the client sends the whole new array.
    QVERIFY(qt.append(QStringLiteral("list"), QJsonArray{2, 3}) > 0);
    saw = serverSaw(QStringLiteral("qt"));
    QVERIFY2(saw, qPrintable(v1server->diagnostics()));
    QCOMPARE(saw->value(QLatin1String("updates")).toObject(),
             QJsonObject({{"list", QJsonArray{1, 2, 3}}}));
    QTRY_COMPARE(updated.count(), 3);
    QCOMPARE(qt.jsonValue().value(QLatin1String("list")).toArray(), QJsonArray({1, 2, 3}));

    // ...and, for a nested value, the whole top-level value.
    QVERIFY(qt.setValueAt({QStringLiteral("doc"), QStringLiteral("b")}, 7) > 0);
    saw = serverSaw(QStringLiteral("qt"));
    QVERIFY2(saw, qPrintable(v1server->diagnostics()));
    QCOMPARE(saw->value(QLatin1String("updates")).toObject(),
             QJsonObject({{"doc", QJsonObject{{"a", 10}, {"b", 7}}}}));
    QTRY_COMPARE(updated.count(), 4);

    // The original stores null as a value; so does the client's copy, as the original's.
    QVERIFY(qt.updateState(QJsonObject{{"title", QJsonValue::Null}}) > 0);
    QTRY_COMPARE(updated.count(), 5);
    QCOMPARE(qt.jsonValue().value(QLatin1String("title")), QJsonValue(QJsonValue::Null));

    const QJsonObject finalValue = serverValue();
    QCOMPARE(qt.jsonValue(), finalValue);
    js->send(QStringLiteral("COPY"));
    const auto jsCopy = js->take(QStringLiteral("COPY"));
    QVERIFY2(jsCopy, qPrintable(js->diagnostics()));
    QCOMPARE(jsCopy->value(QLatin1String("copy")).toObject(), finalValue);
    // v1 echoes no request ids: nothing is acknowledged, the broadcast is the confirmation.
    QCOMPARE(acknowledged.count(), 0);

    QStateSyncClient lost(url, QStringLiteral("lost"));
    QSignalSpy joinFailed(&lost, &QStateSyncClient::joinFailed);
    lost.connectToState(QStringLiteral("missing"));
    QVERIFY(joinFailed.wait(Timeout));
    QCOMPARE(joinFailed.at(0).at(0).toString(), QStringLiteral("missing"));
    // v1 errors carry no code: every STATE_CONNECTION_ERROR is a refused join.
    QCOMPARE(joinFailed.at(0).at(1).value<QStateSync::Error>(), QStateSync::Error::JoinRefused);
    QVERIFY(joinFailed.at(0).at(2).toString().contains(QLatin1String("missing")));
    QCOMPARE(lost.status(), QStateSyncClient::Connected);
    QCOMPARE(lost.protocolVersion(), QStateSyncClient::ProtocolV1);
}

void tst_Interop::ourClientAgainstAServerThatEchoesTheSubprotocol()
{
    // The original builds its server with `new Ws.Server({ noServer: true })`, and the ws
    // package then selects the first subprotocol the client offers, whatever it is. The
    // client offers its v1 token first, so such a server is recognized as v1.
    const QJsonObject initial{{"doc", QJsonObject{{"a", 1}, {"b", 2}}}};
    auto v1server = startServer({QStringLiteral("--echo-subprotocol"), QStringLiteral("--state"),
                                 QStringLiteral("room"), compact(initial)});
    const auto listening = v1server->take(QStringLiteral("PORT"));
    QVERIFY2(listening, qPrintable(v1server->diagnostics()));
    const QUrl url(QStringLiteral("ws://127.0.0.1:%1/")
                           .arg(listening->value(QLatin1String("port")).toInt()));

    QStateSyncClient qt(url, QStringLiteral("qt"));
    QSignalSpy joined(&qt, &QStateSyncClient::joined);
    QSignalSpy updated(&qt, &QStateSyncClient::stateUpdated);
    qt.connectToState(QStringLiteral("room"));
    QVERIFY(joined.wait(Timeout));
    QCOMPARE(qt.protocolVersion(), QStateSyncClient::ProtocolV1);

    qt.updateState(QJsonObject{{"doc", QJsonObject{{"a", 10}}}});
    QTRY_COMPARE(updated.count(), 1);
    v1server->send(QStringLiteral("VALUE room"));
    const auto answer = v1server->take(QStringLiteral("VALUE"));
    QVERIFY2(answer, qPrintable(v1server->diagnostics()));
    QCOMPARE(qt.jsonValue(), answer->value(QLatin1String("value")).toObject());
}

QTEST_GUILESS_MAIN(tst_Interop)
#include "tst_interop.moc"
