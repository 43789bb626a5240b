// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesyncd's script hooks (--hooks file.js or file.qml): what they can do to
// connections, joins and changes, now or later, and what happens when they fail.

#include "daemonsupport.h"

using namespace TestSupport;
using namespace DaemonSupport;

namespace {
const QByteArray Secret = "hook tests";

// The original's middleware, answering through its callback after a timer; the
// original's per-state callbacks; and request hooks that answer later.
const QByteArray JsHooks = R"(
function authorize(request, claims, callback) {
    if (request.clientIdentifier === "boom")
        throw new Error("authorize exploded");
    setTimeout(function () {
        if (request.clientIdentifier === "nobody")
            callback(null, false);
        else
            callback({ name: claims.sub, vip: claims.vip === true }, true);
    }, 1);
}

function allowConnectingClient(clientInformation, stateIdentifier) {
    return stateIdentifier !== "vip" || clientInformation.vip;
}

function interceptStateUpdate(updates, clientInformation, stateIdentifier) {
    if (updates.crash)
        return updates.missing.property;
    if (updates.forbidden)
        return null;
    if (updates.weird)
        return 42;
    updates.by = clientInformation.name;
    return updates;
}

function interceptStateAppend(appends, clientInformation, stateIdentifier) {
    if (appends.items.length === 0)
        throw "empty append";
    appends.items = appends.items.map(function (item) {
        return { value: item, by: clientInformation.name };
    });
    return appends;
}

function joinRequested(request) {
    if (request.clientIdentifier !== "latecomer")
        return;
    request.defer();
    setTimeout(function () { request.reject("come back later"); }, 5);
}

var held = null;

function updateRequested(request) {
    if (request.stateIdentifier !== "slow")
        return;
    if (request.updates.hold) {
        held = request;
        request.defer();
        console.log("holding");
        return;
    }
    if (request.updates.release) {
        held.accept();
        console.log("late answer: answered " + held.answered);
        return;
    }
    request.defer();
    if (request.updates.never)
        return;
    setTimeout(function () {
        var updates = request.updates;
        updates.late = true;
        request.updates = updates;
        request.accept();
    }, 20);
}
)";

// The same kinds of hooks as a QML object; later answers come from a QML Timer.
const QByteArray QmlHooks = R"(
import QtQml

QtObject {
    id: hooks
    property var waiting: []
    property Timer answerLater: Timer {
        interval: 10
        onTriggered: {
            var requests = hooks.waiting;
            hooks.waiting = [];
            for (var i = 0; i < requests.length; ++i) {
                var updates = requests[i].updates;
                updates.checked = "qml";
                requests[i].updates = updates;
                requests[i].accept();
            }
        }
    }

    function authorize(request, claims) {
        if (request.clientIdentifier === "mallory")
            return false;
        return { name: request.clientIdentifier.toUpperCase() };
    }

    function interceptStateUpdate(updates, clientInformation, stateIdentifier) {
        if (updates.forbidden)
            return null;
        updates.by = clientInformation.name;
        return updates;
    }

    function joinRequested(request) {
        if (request.clientIdentifier === "outsider")
            request.reject("members only");
        else if (request.clientIdentifier === "counter")
            request.reject("joined: " + syncer.clientsOfState(request.stateIdentifier).join());
    }

    function updateRequested(request) {
        request.defer();
        waiting = waiting.concat([request]);
        answerLater.restart();
    }
}
)";

QJsonObject dataOf(const QJsonObject &message)
{
    return message.value(QStringLiteral("data")).toObject();
}

QString codeOf(const QJsonObject &message)
{
    return dataOf(message).value(QStringLiteral("code")).toString();
}

int linesContaining(const QString &log, const QString &text)
{
    return int(log.split(QLatin1Char('\n')).filter(text).size());
}
} // namespace

class tst_DaemonHooks : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void jsHooksAuthorizeAsynchronouslyWithClaims();
    void jsHooksFilterJoins();
    void jsHooksModifyAndRefuseChanges();
    void jsHooksAnswerUpdatesLater();
    void unansweredRequestsAreRefusedAfterTheHookTimeout();
    void answeringARequestThatIsGoneDoesNothing();
    void scriptErrorsRefuseAndLogOneLine();
    void qmlHooksModifyRefuseAndAnswerLater();

private:
    QByteArray tokenFor(const QString &subject, bool vip = false) const
    {
        return makeJwt({{"sub", subject}, {"vip", vip}}, Secret);
    }

    QTemporaryDir m_dir;
    std::unique_ptr<Daemon> m_js;
};

void tst_DaemonHooks::initTestCase()
{
    QVERIFY(m_dir.isValid());
    writeFile(m_dir, "hooks.js", JsHooks);
    QJsonArray states;
    for (const char *name : {"main", "vip", "slow"})
        states.append(QJsonObject{{"identifier", name}});
    const QString config = writeJson(m_dir, "config.json",
                                     {{"hooks", "hooks.js"},
                                      {"limits", QJsonObject{{"hookTimeout", 300}}},
                                      {"states", states}});
    QProcessEnvironment environment = daemonEnvironment();
    environment.insert(QStringLiteral("QSTATESYNC_JWT_SECRET"), QString::fromLatin1(Secret));
    m_js = std::make_unique<Daemon>(
            QStringList{"--config", config, "--port", "0", "--host", "127.0.0.1"}, environment);
    QVERIFY2(m_js->start(), qPrintable(m_js->log()));
    QVERIFY2(m_js->log().contains(
                     QLatin1String("authorize, allowConnectingClient, interceptStateUpdate, "
                                   "interceptStateAppend, joinRequested, updateRequested")),
             qPrintable(m_js->log()));
}

void tst_DaemonHooks::cleanupTestCase()
{
    if (m_js)
        QVERIFY(m_js->terminate());
    m_js.reset();
}

void tst_DaemonHooks::jsHooksAuthorizeAsynchronouslyWithClaims()
{
    // The callback answers from a timer: the client waits, then is let in with the
    // information the hook made from the token's claims.
    RawClient alice;
    QVERIFY(openAndJoin(alice, m_js->url, "alice", tokenFor("alice"), "main").contains("state"));
    alice.update({{"title", "t"}}, 1);
    QCOMPARE(dataOf(answerTo(alice, 1)).value("updates").toObject().value("by").toString(),
             QStringLiteral("alice"));

    QCOMPARE(rawRequest(m_js->port(),
                        upgradeRequest("/?identifier=nobody&token=" + tokenFor("nobody")))
                     .status,
             401);
}

void tst_DaemonHooks::jsHooksFilterJoins()
{
    RawClient plain;
    // allowConnectingClient said no: the answer does not tell that "vip" exists.
    QCOMPARE(codeOf({{"data", openAndJoin(plain, m_js->url, "pat", tokenFor("pat"), "vip")}}),
             QStringLiteral("state_not_found"));
    RawClient vera;
    QVERIFY(openAndJoin(vera, m_js->url, "vera", tokenFor("vera", true), "vip").contains("state"));

    // joinRequested deferred the request and rejected it from a timer, with a message.
    RawClient latecomer;
    const QJsonObject refused
            = openAndJoin(latecomer, m_js->url, "latecomer", tokenFor("latecomer"), "main");
    QCOMPARE(refused.value("code").toString(), QStringLiteral("join_refused"));
    QCOMPARE(refused.value("message").toString(), QStringLiteral("come back later"));
}

void tst_DaemonHooks::jsHooksModifyAndRefuseChanges()
{
    RawClient bob;
    QVERIFY(openAndJoin(bob, m_js->url, "bob", tokenFor("bob"), "main").contains("state"));
    bob.update({{"forbidden", true}}, 1);
    QCOMPARE(codeOf(answerTo(bob, 1)), QStringLiteral("update_refused"));

    bob.append({{"items", QJsonArray{1, 2}}}, 2);
    const QJsonObject appended = answerTo(bob, 2);
    QCOMPARE(appended.value("type").toInt(), 22);
    QCOMPARE(dataOf(appended).value("appends").toObject().value("items").toArray(),
             QJsonArray({QJsonObject{{"value", 1}, {"by", "bob"}},
                         QJsonObject{{"value", 2}, {"by", "bob"}}}));

    // A hook that returns something else than changes or a refusal refuses, and says why.
    bob.update({{"weird", true}}, 3);
    QCOMPARE(codeOf(answerTo(bob, 3)), QStringLiteral("update_refused"));
    QVERIFY(m_js->waitForLog("interceptStateUpdate: returned a number"));
}

void tst_DaemonHooks::jsHooksAnswerUpdatesLater()
{
    RawClient carol;
    QVERIFY(openAndJoin(carol, m_js->url, "carol", tokenFor("carol"), "slow").contains("state"));
    // The second update waits behind the first, whose answer comes from a timer.
    carol.update({{"step", 1}}, 1);
    carol.update({{"step", 2}}, 2);
    const QJsonObject first = dataOf(answerTo(carol, 1));
    const QJsonObject second = dataOf(answerTo(carol, 2));
    QCOMPARE(first.value("updates").toObject(),
             QJsonObject({{"step", 1}, {"by", "carol"}, {"late", true}}));
    QCOMPARE(first.value("version").toInt() + 1, second.value("version").toInt());
}

void tst_DaemonHooks::unansweredRequestsAreRefusedAfterTheHookTimeout()
{
    RawClient dave;
    QVERIFY(openAndJoin(dave, m_js->url, "dave", tokenFor("dave"), "slow").contains("state"));
    dave.update({{"never", true}}, 1);
    dave.update({{"after", true}}, 2);
    const QJsonObject refused = answerTo(dave, 1);
    QCOMPARE(codeOf(refused), QStringLiteral("update_refused"));
    QCOMPARE(dataOf(refused).value("message").toString(),
             QStringLiteral("The server's hook did not answer in time"));
    // The state's queue moves on.
    QCOMPARE(answerTo(dave, 2).value("type").toInt(), 3);
    QVERIFY(m_js->waitForLog("updateRequested: deferred a request and did not answer within "
                             "300 ms"));
}

void tst_DaemonHooks::answeringARequestThatIsGoneDoesNothing()
{
    RawClient frank;
    QVERIFY(openAndJoin(frank, m_js->url, "frank", tokenFor("frank"), "slow").contains("state"));
    frank.update({{"hold", true}}, 1);
    QVERIFY(m_js->waitForLog("holding"));
    // The hook keeps the request past the hook timeout: the server refuses it and
    // deletes it.
    QCOMPARE(codeOf(answerTo(frank, 1)), QStringLiteral("update_refused"));

    // Answering it then neither throws nor changes anything.
    const int hookLines = linesContaining(m_js->log(), QStringLiteral("qstatesync.hooks"));
    frank.update({{"release", true}}, 2);
    QCOMPARE(answerTo(frank, 2).value("type").toInt(), 3);
    QVERIFY(m_js->waitForLog("late answer: answered true"));
    QCOMPARE(linesContaining(m_js->log(), QStringLiteral("qstatesync.hooks")), hookLines);
}

void tst_DaemonHooks::scriptErrorsRefuseAndLogOneLine()
{
    QCOMPARE(rawRequest(m_js->port(), upgradeRequest("/?identifier=boom&token=" + tokenFor("boom")))
                     .status,
             401);
    QVERIFY(m_js->waitForLog("hooks.js: authorize: 4: Error: authorize exploded"));

    RawClient erin;
    QVERIFY(openAndJoin(erin, m_js->url, "erin", tokenFor("erin"), "main").contains("state"));
    erin.update({{"crash", true}}, 1);
    QCOMPARE(codeOf(answerTo(erin, 1)), QStringLiteral("update_refused"));
    erin.append({{"items", QJsonArray()}}, 2);
    QCOMPARE(codeOf(answerTo(erin, 2)), QStringLiteral("update_refused"));
    // The daemon goes on serving.
    erin.update({{"fine", true}}, 3);
    QCOMPARE(answerTo(erin, 3).value("type").toInt(), 3);

    QVERIFY(m_js->waitForLog("hooks.js: interceptStateAppend: empty append"));
    const QString log = m_js->log();
    QCOMPARE(linesContaining(log, QStringLiteral("authorize exploded")), 1);
    QCOMPARE(linesContaining(log, QStringLiteral("interceptStateUpdate: 19: TypeError")), 1);
    QCOMPARE(linesContaining(log, QStringLiteral("empty append")), 1);
    QVERIFY(m_js->process.state() == QProcess::Running);

    const QByteArray metrics = httpRequest(m_js->port(), "/metrics").body;
    QVERIFY2(QRegularExpression(QStringLiteral("\nqstatesync_hook_errors_total [1-9]"))
                     .match(QString::fromUtf8(metrics))
                     .hasMatch(),
             metrics.constData());
}

void tst_DaemonHooks::qmlHooksModifyRefuseAndAnswerLater()
{
    QTemporaryDir dir;
    const QString hooks = writeFile(dir, "hooks.qml", QmlHooks);
    Daemon daemon({"--hooks", hooks, "--state", "main", "--port", "0", "--host", "127.0.0.1"});
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));

    QCOMPARE(rawRequest(daemon.port(), upgradeRequest("/?identifier=mallory")).status, 401);

    RawClient bob;
    QVERIFY(openAndJoin(bob, daemon.url, "bob", QString(), "main").contains("state"));
    bob.update({{"x", 1}}, 1);
    bob.update({{"forbidden", true}}, 2);
    bob.update({{"y", 2}}, 3);
    QCOMPARE(dataOf(answerTo(bob, 1)).value("updates").toObject(),
             QJsonObject({{"x", 1}, {"by", "BOB"}, {"checked", "qml"}}));
    QCOMPARE(codeOf(answerTo(bob, 2)), QStringLiteral("update_refused"));
    QCOMPARE(dataOf(answerTo(bob, 3)).value("updates").toObject().value("checked").toString(),
             QStringLiteral("qml"));

    RawClient outsider;
    const QJsonObject refused = openAndJoin(outsider, daemon.url, "outsider", QString(), "main");
    QCOMPARE(refused.value("code").toString(), QStringLiteral("join_refused"));
    QCOMPARE(refused.value("message").toString(), QStringLiteral("members only"));
    // Hooks see the server as the global "syncer".
    RawClient counter;
    QCOMPARE(openAndJoin(counter, daemon.url, "counter", QString(), "main")
                     .value("message")
                     .toString(),
             QStringLiteral("joined: bob"));
    QVERIFY(daemon.terminate());
}

QTEST_GUILESS_MAIN(tst_DaemonHooks)
#include "tst_daemonhooks.moc"
