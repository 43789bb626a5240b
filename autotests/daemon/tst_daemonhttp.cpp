// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesyncd's plain HTTP endpoints on the WebSocket port: /healthz and /metrics
// (Prometheus text format 0.0.4), and how they follow what clients do.

#include "daemonsupport.h"

using namespace TestSupport;
using namespace DaemonSupport;

namespace {
// The identifier needs every escape the label format has.
const QString OddState = QStringLiteral("we\"ird\\name\nx");

struct Exposition
{
    QMap<QString, quint64> samples;
    QStringList problems;
};

// Reads the text format, and notes where it breaks the format's rules: every sample
// belongs to a family announced with HELP and TYPE, counters end in _total.
Exposition parseExposition(const QByteArray &text)
{
    static const QRegularExpression sampleLine(
            QStringLiteral(R"(^([a-z_]+)(\{state="(?:[^"\\]|\\.)*"\})? ([0-9]+)$)"));
    Exposition result;
    QMap<QString, QString> types;
    QSet<QString> helped;
    const QStringList lines = QString::fromUtf8(text).split(QLatin1Char('\n'));
    if (!text.endsWith('\n'))
        result.problems.append(QStringLiteral("no line feed at the end"));
    for (const QString &line : lines) {
        if (line.isEmpty())
            continue;
        if (line.startsWith(QLatin1String("# HELP "))) {
            helped.insert(line.section(QLatin1Char(' '), 2, 2));
            continue;
        }
        if (line.startsWith(QLatin1String("# TYPE "))) {
            const QString name = line.section(QLatin1Char(' '), 2, 2);
            const QString type = line.section(QLatin1Char(' '), 3, 3);
            types.insert(name, type);
            if (!helped.contains(name))
                result.problems.append(QStringLiteral("TYPE before HELP: ") + name);
            if ((type == QLatin1String("counter")) != name.endsWith(QLatin1String("_total")))
                result.problems.append(QStringLiteral("counter naming: ") + name);
            continue;
        }
        const QRegularExpressionMatch match = sampleLine.match(line);
        if (!match.hasMatch()) {
            result.problems.append(QStringLiteral("not a sample: ") + line);
            continue;
        }
        if (!types.contains(match.captured(1)))
            result.problems.append(QStringLiteral("no TYPE for ") + match.captured(1));
        result.samples.insert(match.captured(1) + match.captured(2),
                              match.captured(3).toULongLong());
    }
    return result;
}

Exposition scrape(quint16 port)
{
    const HttpResponse response = httpRequest(port, "/metrics");
    Exposition exposition = parseExposition(response.body);
    if (response.status != 200)
        exposition.problems.append(QStringLiteral("status %1").arg(response.status));
    if (!response.head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        exposition.problems.append(QStringLiteral("content type: ")
                                   + QString::fromLatin1(response.head));
    return exposition;
}

QString stateLabel(const char *family, const QString &state)
{
    return QLatin1String(family) + QStringLiteral("{state=\"%1\"}").arg(state);
}
} // namespace

class tst_DaemonHttp : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void healthzAnswersOk();
    void metricsFollowTheServer();
    void endpointsCanBeSwitchedOff();
};

void tst_DaemonHttp::healthzAnswersOk()
{
    Daemon daemon({"--port", "0", "--host", "127.0.0.1"});
    QVERIFY(daemon.start());
    const HttpResponse get = httpRequest(daemon.port(), "/healthz");
    QCOMPARE(get.status, 200);
    QCOMPARE(get.body, QByteArray("ok\n"));
    const HttpResponse head = httpRequest(daemon.port(), "/healthz", "HEAD");
    QCOMPARE(head.status, 200);
    QVERIFY(head.head.contains("Content-Length: 3"));
    QCOMPARE(head.body, QByteArray());
    // Other paths are the server's: it asks for a WebSocket.
    QCOMPARE(httpRequest(daemon.port(), "/other").status, 426);
    QVERIFY(daemon.terminate());
}

void tst_DaemonHttp::metricsFollowTheServer()
{
    QTemporaryDir dir;
    writeFile(dir, "hooks.js",
              "function authorize(request) { return request.clientIdentifier !== 'blocked'; }\n");
    const QString config
            = writeJson(dir, "config.json",
                        {{"hooks", "hooks.js"},
                         {"states",
                          QJsonArray{QJsonObject{{"identifier", "a"},
                                                 {"initialValue", QJsonObject{{"text", "x"}}}},
                                     QJsonObject{{"identifier", "b"}},
                                     QJsonObject{{"identifier", OddState}}}}});
    Daemon daemon({"--config", config, "--port", "0", "--host", "127.0.0.1"});
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));

    const QString escaped = QStringLiteral(R"(we\"ird\\name\nx)");
    const Exposition before = scrape(daemon.port());
    QVERIFY2(before.problems.isEmpty(), qPrintable(before.problems.join(QLatin1Char('\n'))));
    QCOMPARE(before.samples.value("qstatesync_clients", 99), 0u);
    QCOMPARE(before.samples.value("qstatesync_states"), 3u);
    QCOMPARE(before.samples.value(stateLabel("qstatesync_state_clients", "a"), 99), 0u);
    QCOMPARE(before.samples.value(stateLabel("qstatesync_state_version", escaped), 99), 0u);
    for (const char *counter :
         {"qstatesync_updates_applied_total", "qstatesync_updates_refused_total",
          "qstatesync_messages_received_total", "qstatesync_messages_refused_total",
          "qstatesync_bytes_received_total", "qstatesync_bytes_sent_total",
          "qstatesync_connections_refused_total", "qstatesync_hook_errors_total"}) {
        QVERIFY2(before.samples.contains(QLatin1String(counter)), counter);
        QCOMPARE(before.samples.value(QLatin1String(counter), 99), 0u);
    }

    RawClient writer;
    RawClient reader;
    QVERIFY(openAndJoin(writer, daemon.url, "writer", QString(), "a").contains("state"));
    QVERIFY(openAndJoin(reader, daemon.url, "reader", QString(), "a").contains("state"));
    writer.update({{"n", 1}}, 1);
    QCOMPARE(answerTo(writer, 1).value("type").toInt(), 3);
    writer.update({{"n", 2}}, 2);
    QCOMPARE(answerTo(writer, 2).value("type").toInt(), 3);
    writer.append({{"text", QJsonArray{1}}}, 3);
    QCOMPARE(answerTo(writer, 3).value("data").toObject().value("code").toString(),
             QStringLiteral("not_an_array"));
    writer.sendText(QStringLiteral("not json"));
    QVERIFY(!writer.takeData(25).isEmpty());
    QCOMPARE(rawRequest(daemon.port(), upgradeRequest("/?identifier=blocked")).status, 401);

    const Exposition after = scrape(daemon.port());
    QVERIFY2(after.problems.isEmpty(), qPrintable(after.problems.join(QLatin1Char('\n'))));
    QCOMPARE(after.samples.value("qstatesync_clients"), 2u);
    QCOMPARE(after.samples.value("qstatesync_states"), 3u);
    QCOMPARE(after.samples.value(stateLabel("qstatesync_state_clients", "a")), 2u);
    QCOMPARE(after.samples.value(stateLabel("qstatesync_state_clients", "b"), 99), 0u);
    QCOMPARE(after.samples.value(stateLabel("qstatesync_state_version", "a")), 2u);
    QCOMPARE(after.samples.value("qstatesync_updates_applied_total"), 2u);
    QCOMPARE(after.samples.value("qstatesync_updates_refused_total"), 1u);
    // Two joins, two updates, an append and the malformed text.
    QCOMPARE(after.samples.value("qstatesync_messages_received_total"), 6u);
    QCOMPARE(after.samples.value("qstatesync_messages_refused_total"), 1u);
    QCOMPARE(after.samples.value("qstatesync_connections_refused_total"), 1u);
    QVERIFY(after.samples.value("qstatesync_bytes_received_total") > 0);
    QVERIFY(after.samples.value("qstatesync_bytes_sent_total") > 0);

    // Leaving shows at once.
    reader.socket.close();
    QVERIFY(reader.waitForDisconnect());
    QVERIFY(QTest::qWaitFor(
            [&] { return scrape(daemon.port()).samples.value("qstatesync_clients") == 1; },
            Timeout));
    QVERIFY(daemon.terminate());
}

void tst_DaemonHttp::endpointsCanBeSwitchedOff()
{
    QTemporaryDir dir;
    const QString config = writeJson(
            dir, "config.json", {{"http", QJsonObject{{"healthz", false}, {"metrics", false}}}});
    Daemon daemon({"--config", config, "--port", "0", "--host", "127.0.0.1"});
    QVERIFY(daemon.start());
    QCOMPARE(httpRequest(daemon.port(), "/healthz").status, 426);
    QCOMPARE(httpRequest(daemon.port(), "/metrics").status, 426);
    QVERIFY(daemon.terminate());
}

QTEST_GUILESS_MAIN(tst_DaemonHttp)
#include "tst_daemonhttp.moc"
