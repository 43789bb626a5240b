// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesyncd's token checks (HS256 JWTs) and access rules, seen from connecting
// clients: HTTP status of the upgrade, join and write answers.

#include "daemonsupport.h"

using namespace TestSupport;
using namespace DaemonSupport;

namespace {
const QByteArray Secret = "s3cr3t-for-the-tests";
const QString Issuer = QStringLiteral("https://issuer.test");

QJsonObject validClaims(const QString &subject)
{
    return {{"sub", subject}, {"iss", Issuer}, {"aud", "qstatesync"}, {"exp", secondsFromNow(600)}};
}

QJsonObject with(QJsonObject object, const QString &key, const QJsonValue &value)
{
    if (value.isUndefined())
        object.remove(key);
    else
        object.insert(key, value);
    return object;
}

QString writeSecret(const QTemporaryDir &dir, const QString &name, const QByteArray &secret)
{
    const QString path = writeFile(dir, name, secret + '\n');
    QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return path;
}

int upgradeStatus(quint16 port, const QByteArray &identifier, const QByteArray &token,
                  const QByteArray &headers = QByteArray())
{
    QByteArray target = "/?identifier=" + identifier;
    if (!token.isNull())
        target += "&token=" + token;
    return rawRequest(port, upgradeRequest(target, headers)).status;
}
} // namespace

class tst_DaemonAuth : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void jwtIsCheckedBeforeTheWebSocketOpens_data();
    void jwtIsCheckedBeforeTheWebSocketOpens();
    void secretFromTheEnvironmentAndItsOverride();
    void claimsReachAccessRulesAndHooks();
    void accessRulesDecideJoinAndWrite_data();
    void accessRulesDecideJoinAndWrite();
    void optionalTokenLetsAnonymousClientsIn();
    void secretsAndTokensAreNeverLogged();

private:
    QTemporaryDir m_dir;
    std::unique_ptr<Daemon> m_jwtDaemon;
    std::unique_ptr<Daemon> m_rulesDaemon;
};

void tst_DaemonAuth::initTestCase()
{
    QVERIFY(m_dir.isValid());
    const QString secretFile = writeSecret(m_dir, "jwt.secret", Secret);
    const QString jwtConfig = writeJson(
            m_dir, "jwt.json",
            {{"auth",
              QJsonObject{{"jwt",
                           QJsonObject{{"leeway", 30},
                                       {"issuer", Issuer},
                                       {"audience", QJsonArray{"qstatesync", "other"}}}}}},
             {"states", QJsonArray{QJsonObject{{"identifier", "s"}}}}});
    m_jwtDaemon = std::make_unique<Daemon>(QStringList{"--config", jwtConfig, "--jwt-secret-file",
                                                       secretFile, "--port", "0", "--host",
                                                       "127.0.0.1"});
    QVERIFY2(m_jwtDaemon->start(), qPrintable(m_jwtDaemon->log()));
    QVERIFY(m_jwtDaemon->log().contains(QLatin1String("tokens: JWT HS256, required")));

    QJsonArray states;
    for (const char *name : {"board", "team-red", "room-1", "room-12", "public", "closed"})
        states.append(QJsonObject{{"identifier", name}});
    const QJsonObject roles{{"claim", "roles"}};
    const QString rulesConfig = writeJson(
            m_dir, "rules.json",
            {{"auth", QJsonObject{{"jwt", QJsonObject{{"secretFile", "jwt.secret"}}}}},
             {"states", states},
             {"access",
              QJsonArray{
                      QJsonObject{
                              {"states", "board"},
                              {"join",
                               QJsonArray{with(roles, "anyOf",
                                               QJsonArray{"viewer", "editor", "admin"})}},
                              {"write",
                               QJsonArray{with(roles, "anyOf", QJsonArray{"editor", "admin"})}}},
                      QJsonObject{{"states", QJsonArray{"team-*", "room-?"}},
                                  {"join",
                                   QJsonArray{QJsonObject{{"claim", "team"}, {"present", true}}}},
                                  {"write",
                                   QJsonArray{QJsonObject{
                                           {"allOf",
                                            QJsonArray{QJsonObject{{"claim", "team"},
                                                                   {"present", true}},
                                                       QJsonObject{{"claim", "org.level"},
                                                                   {"equals", 3}}}}}}}},
                      QJsonObject{{"states", "public"}, {"join", true}, {"write", false}}}}});
    m_rulesDaemon = std::make_unique<Daemon>(
            QStringList{"--config", rulesConfig, "--port", "0", "--host", "127.0.0.1"});
    QVERIFY2(m_rulesDaemon->start(), qPrintable(m_rulesDaemon->log()));
}

void tst_DaemonAuth::cleanupTestCase()
{
    for (std::unique_ptr<Daemon> *daemon : {&m_jwtDaemon, &m_rulesDaemon}) {
        if (*daemon)
            QVERIFY((*daemon)->terminate());
        daemon->reset();
    }
}

void tst_DaemonAuth::jwtIsCheckedBeforeTheWebSocketOpens_data()
{
    QTest::addColumn<QByteArray>("token");
    QTest::addColumn<QByteArray>("headers");
    QTest::addColumn<int>("status");
    QTest::addColumn<QString>("reason");

    const QJsonObject claims = validClaims("ann");
    const QByteArray valid = makeJwt(claims, Secret);
    const QList<QByteArray> parts = valid.split('.');
    QTest::addRow("valid") << valid << QByteArray() << 101 << QString();
    QTest::addRow("valid, in an Authorization header")
            << QByteArray() << "Authorization: Bearer " + valid + "\r\n"
            << 101 << QString();
    QTest::addRow("second audience of a list")
            << makeJwt(with(claims, "aud", QJsonArray{"x", "other"}), Secret) << QByteArray() << 101
            << QString();
    QTest::addRow("expired within the leeway")
            << makeJwt(with(claims, "exp", secondsFromNow(-10)), Secret) << QByteArray() << 101
            << QString();
    QTest::addRow("without expiry") << makeJwt(with(claims, "exp", QJsonValue::Undefined), Secret)
                                    << QByteArray() << 101 << QString();
    QTest::addRow("expired") << makeJwt(with(claims, "exp", secondsFromNow(-3600)), Secret)
                             << QByteArray() << 401 << "token expired";
    QTest::addRow("not valid yet") << makeJwt(with(claims, "nbf", secondsFromNow(3600)), Secret)
                                   << QByteArray() << 401 << "token not valid yet";
    QTest::addRow("expiry not a number") << makeJwt(with(claims, "exp", "tomorrow"), Secret)
                                         << QByteArray() << 401 << "malformed claims";
    QTest::addRow("other secret") << makeJwt(claims, "another secret") << QByteArray() << 401
                                  << "bad signature";
    QTest::addRow("payload changed after signing")
            << parts.at(0) + '.' + base64Url(R"({"sub":"admin"})") + '.' + parts.at(2)
            << QByteArray() << 401 << "bad signature";
    const QByteArray noneHeader = base64Url(R"({"alg":"none","typ":"JWT"})");
    QTest::addRow("alg none, unsigned") << noneHeader + '.' + parts.at(1) + '.' << QByteArray()
                                        << 401 << "unsupported algorithm";
    QTest::addRow("alg none, with a valid signature")
            << noneHeader + '.' + parts.at(1) + '.' + parts.at(2) << QByteArray() << 401
            << "unsupported algorithm";
    QTest::addRow("alg HS512") << makeJwt(claims, Secret, {{"alg", "HS512"}, {"typ", "JWT"}})
                               << QByteArray() << 401 << "unsupported algorithm";
    QTest::addRow("alg in lower case") << makeJwt(claims, Secret, {{"alg", "hs256"}})
                                       << QByteArray() << 401 << "unsupported algorithm";
    QTest::addRow("two parts") << parts.at(0) + '.' + parts.at(1) << QByteArray() << 401
                               << "malformed token";
    QTest::addRow("not base64url")
            << QByteArray("a+b.c/d.e") << QByteArray() << 401 << "malformed token";
    QTest::addRow("wrong issuer") << makeJwt(with(claims, "iss", "https://evil.test"), Secret)
                                  << QByteArray() << 401 << "wrong issuer";
    QTest::addRow("wrong audience") << makeJwt(with(claims, "aud", "somebody"), Secret)
                                    << QByteArray() << 401 << "wrong audience";
    QTest::addRow("missing") << QByteArray() << QByteArray() << 401 << "no token";
}

void tst_DaemonAuth::jwtIsCheckedBeforeTheWebSocketOpens()
{
    QFETCH(QByteArray, token);
    QFETCH(QByteArray, headers);
    QFETCH(int, status);
    QFETCH(QString, reason);
    // The row's name is the client identifier, so the log line can be found.
    const QString identifier = QLatin1String(QTest::currentDataTag());
    QCOMPARE(
            upgradeStatus(m_jwtDaemon->port(), QUrl::toPercentEncoding(identifier), token, headers),
            status);
    if (!reason.isEmpty()) {
        QVERIFY2(m_jwtDaemon->waitForLog(
                         QStringLiteral("refused %1 from 127.0.0.1: %2").arg(identifier, reason)),
                 qPrintable(m_jwtDaemon->log()));
    }
}

void tst_DaemonAuth::secretFromTheEnvironmentAndItsOverride()
{
    QProcessEnvironment environment = daemonEnvironment();
    environment.insert(QStringLiteral("QSTATESYNC_JWT_SECRET"), QStringLiteral("from the env"));
    {
        Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--state", "s"}, environment);
        QVERIFY(daemon.start());
        QCOMPARE(upgradeStatus(daemon.port(), "a", makeJwt({{"sub", "a"}}, "from the env")), 101);
        QCOMPARE(upgradeStatus(daemon.port(), "b", makeJwt({{"sub", "b"}}, Secret)), 401);
        QCOMPARE(upgradeStatus(daemon.port(), "c", QByteArray()), 401);
        QVERIFY(daemon.terminate());
    }
    // --jwt-secret-file wins over the environment.
    const QString file = writeSecret(m_dir, "override.secret", "from the file");
    Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--jwt-secret-file", file}, environment);
    QVERIFY(daemon.start());
    QCOMPARE(upgradeStatus(daemon.port(), "a", makeJwt({{"sub", "a"}}, "from the file")), 101);
    QCOMPARE(upgradeStatus(daemon.port(), "b", makeJwt({{"sub", "b"}}, "from the env")), 401);
    QVERIFY(daemon.terminate());
}

void tst_DaemonAuth::claimsReachAccessRulesAndHooks()
{
    QTemporaryDir dir;
    writeFile(dir, "hooks.js",
              "function interceptStateUpdate(updates, clientInformation, stateIdentifier) {\n"
              "    updates.by = clientInformation.sub;\n"
              "    updates.team = clientInformation.org.team;\n"
              "    return updates;\n"
              "}\n");
    const QString config = writeJson(
            dir, "config.json",
            {{"hooks", "hooks.js"},
             {"states", QJsonArray{QJsonObject{{"identifier", "board"}}}},
             {"access",
              QJsonArray{QJsonObject{
                      {"states", "board"},
                      {"join",
                       QJsonArray{QJsonObject{{"claim", "roles"},
                                              {"anyOf", QJsonArray{"viewer", "editor"}}}}},
                      {"write",
                       QJsonArray{QJsonObject{{"claim", "roles"}, {"equals", "editor"}}}}}}}});
    QProcessEnvironment environment = daemonEnvironment();
    environment.insert(QStringLiteral("QSTATESYNC_JWT_SECRET"), QString::fromLatin1(Secret));
    Daemon daemon({"--config", config, "--port", "0", "--host", "127.0.0.1"}, environment);
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));

    const QJsonObject org{{"team", "red"}};
    RawClient editor;
    const QByteArray editorToken
            = makeJwt({{"sub", "ann"}, {"roles", QJsonArray{"editor"}}, {"org", org}}, Secret);
    QVERIFY(openAndJoin(editor, daemon.url, "ann", editorToken, "board").contains("state"));
    editor.update({{"title", "plan"}}, 1);
    const QJsonObject applied
            = answerTo(editor, 1).value("data").toObject().value("updates").toObject();
    QCOMPARE(applied, QJsonObject({{"title", "plan"}, {"by", "ann"}, {"team", "red"}}));

    RawClient viewer;
    const QByteArray viewerToken
            = makeJwt({{"sub", "vic"}, {"roles", QJsonArray{"viewer"}}, {"org", org}}, Secret);
    QVERIFY(openAndJoin(viewer, daemon.url, "vic", viewerToken, "board").contains("state"));
    viewer.update({{"title", "mine"}}, 1);
    QCOMPARE(answerTo(viewer, 1).value("data").toObject().value("code").toString(),
             QStringLiteral("update_refused"));
    viewer.append({{"list", QJsonArray{1}}}, 2);
    QCOMPARE(answerTo(viewer, 2).value("data").toObject().value("code").toString(),
             QStringLiteral("update_refused"));
    QVERIFY(daemon.waitForLog("writing board refused by access[0]"));

    RawClient stranger;
    const QJsonObject refused
            = openAndJoin(stranger, daemon.url, "sam", makeJwt({{"sub", "sam"}}, Secret), "board");
    // Without revealStateExistence, a refused client is not told that the state exists.
    QCOMPARE(refused.value("code").toString(), QStringLiteral("state_not_found"));
    QVERIFY(daemon.waitForLog("joining board refused by access[0]"));
    QVERIFY(daemon.terminate());
}

void tst_DaemonAuth::accessRulesDecideJoinAndWrite_data()
{
    QTest::addColumn<QJsonObject>("claims");
    QTest::addColumn<QString>("state");
    QTest::addColumn<bool>("mayJoin");
    QTest::addColumn<bool>("mayWrite");
    const QJsonObject level3{{"level", 3}};
    const QJsonObject level2{{"level", 2}};
    QTest::addRow("viewer on board")
            << QJsonObject{{"roles", QJsonArray{"viewer"}}} << "board" << true << false;
    QTest::addRow("editor among roles on board")
            << QJsonObject{{"roles", QJsonArray{"x", "editor"}}} << "board" << true << true;
    QTest::addRow("role as a string") << QJsonObject{{"roles", "admin"}} << "board" << true << true;
    QTest::addRow("no roles on board") << QJsonObject{{"sub", "x"}} << "board" << false << false;
    QTest::addRow("role of another type")
            << QJsonObject{{"roles", QJsonObject{{"editor", true}}}} << "board" << false << false;
    QTest::addRow("team member, level 3")
            << QJsonObject{{"team", "red"}, {"org", level3}} << "team-red" << true << true;
    QTest::addRow("team member, level 2")
            << QJsonObject{{"team", "red"}, {"org", level2}} << "team-red" << true << false;
    QTest::addRow("team null") << QJsonObject{{"team", QJsonValue::Null}, {"org", level3}}
                               << "team-red" << false << false;
    QTest::addRow("one-character pattern")
            << QJsonObject{{"team", "red"}, {"org", level3}} << "room-1" << true << true;
    QTest::addRow("pattern does not match: closed")
            << QJsonObject{{"team", "red"}, {"org", level3}} << "room-12" << false << false;
    QTest::addRow("public") << QJsonObject() << "public" << true << false;
    QTest::addRow("no entry: closed")
            << QJsonObject{{"roles", "admin"}} << "closed" << false << false;
}

void tst_DaemonAuth::accessRulesDecideJoinAndWrite()
{
    QFETCH(QJsonObject, claims);
    QFETCH(QString, state);
    QFETCH(bool, mayJoin);
    QFETCH(bool, mayWrite);
    RawClient client;
    const QJsonObject joined
            = openAndJoin(client, m_rulesDaemon->url, "c", makeJwt(claims, Secret), state);
    QVERIFY2(!joined.isEmpty(), "no answer to the join");
    QCOMPARE(joined.value("code").toString(),
             mayJoin ? QString() : QStringLiteral("state_not_found"));
    if (!mayJoin)
        return;
    client.update({{"x", 1}}, 1);
    const QJsonObject answer = answerTo(client, 1);
    QCOMPARE(answer.value("type").toInt(), mayWrite ? 3 : 9);
    if (!mayWrite) {
        QCOMPARE(answer.value("data").toObject().value("code").toString(),
                 QStringLiteral("update_refused"));
    }
}

void tst_DaemonAuth::optionalTokenLetsAnonymousClientsIn()
{
    const QString config = writeJson(
            m_dir, "optional.json",
            {{"auth",
              QJsonObject{{"requireToken", false},
                          {"jwt", QJsonObject{{"secretFile", "jwt.secret"}}}}},
             {"states", QJsonArray{QJsonObject{{"identifier", "public"}}}},
             {"access",
              QJsonArray{QJsonObject{
                      {"states", "public"},
                      {"join", true},
                      {"write", QJsonArray{QJsonObject{{"claim", "sub"}, {"present", true}}}}}}}});
    Daemon daemon({"--config", config, "--port", "0", "--host", "127.0.0.1"});
    QVERIFY2(daemon.start(), qPrintable(daemon.log()));
    QVERIFY(daemon.log().contains(QLatin1String("tokens: JWT HS256, optional")));

    RawClient anonymous;
    QVERIFY(openAndJoin(anonymous, daemon.url, "anon", QString(), "public").contains("state"));
    anonymous.update({{"x", 1}}, 1);
    QCOMPARE(answerTo(anonymous, 1).value("type").toInt(), 9);

    RawClient known;
    QVERIFY(openAndJoin(known, daemon.url, "ann", makeJwt({{"sub", "ann"}}, Secret), "public")
                    .contains("state"));
    known.update({{"x", 1}}, 1);
    QCOMPARE(answerTo(known, 1).value("type").toInt(), 3);

    // A token that is there must still be valid.
    QCOMPARE(upgradeStatus(daemon.port(), "forger", makeJwt({{"sub", "x"}}, "guess")), 401);
    QVERIFY(daemon.terminate());
}

void tst_DaemonAuth::secretsAndTokensAreNeverLogged()
{
    QProcessEnvironment environment = daemonEnvironment();
    environment.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("qstatesync.*=true"));
    environment.insert(QStringLiteral("QSTATESYNC_JWT_SECRET"), QString::fromLatin1(Secret));
    Daemon daemon({"--port", "0", "--host", "127.0.0.1", "--state", "s"}, environment);
    QVERIFY(daemon.start());
    const QByteArray good = makeJwt(validClaims("ann"), Secret);
    const QByteArray expired = makeJwt(with(validClaims("bob"), "exp", 1000), Secret);
    const QByteArray forged = makeJwt(validClaims("eve"), "guess");
    RawClient ann;
    QVERIFY(openAndJoin(ann, daemon.url, "ann", good, "s").contains("state"));
    ann.update({{"x", 1}}, 1);
    QCOMPARE(answerTo(ann, 1).value("type").toInt(), 3);
    QCOMPARE(upgradeStatus(daemon.port(), "bob", expired), 401);
    QCOMPARE(upgradeStatus(daemon.port(), "eve", forged), 401);
    QVERIFY(daemon.waitForLog("refused eve from 127.0.0.1: bad signature"));
    QVERIFY(daemon.terminate());

    const QString output = daemon.log() + daemon.stdoutText;
    for (const QByteArray &secret :
         {Secret, good, expired, forged, good.split('.').at(2), forged.split('.').at(2)}) {
        QVERIFY2(!output.contains(QString::fromLatin1(secret)), secret.constData());
    }
}

QTEST_GUILESS_MAIN(tst_DaemonAuth)
#include "tst_daemonauth.moc"
