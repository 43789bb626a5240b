// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

#include "chatserver.h"

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qtextstream.h>

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "A chat server on QStateSync: the room \"myGroupChat\" for people of one e-mail\n"
            "domain, with signed tokens. Make a token with --make-token, then connect to\n"
            "ws://HOST:PORT/?identifier=NAME&token=TOKEN."));
    parser.addHelpOption();
    const QCommandLineOption port(QStringLiteral("port"), QStringLiteral("Port (default 5000)."),
                                  QStringLiteral("N"), QStringLiteral("5000"));
    const QCommandLineOption host(QStringLiteral("host"),
                                  QStringLiteral("Address (default 127.0.0.1)."),
                                  QStringLiteral("ADDR"), QStringLiteral("127.0.0.1"));
    const QCommandLineOption domain(QStringLiteral("domain"),
                                    QStringLiteral("E-mail domain that may join (default "
                                                   "example.com)."),
                                    QStringLiteral("DOMAIN"), QStringLiteral("example.com"));
    const QCommandLineOption admin(QStringLiteral("admin"),
                                   QStringLiteral("E-mail of an admin, who may change the topic."),
                                   QStringLiteral("EMAIL"));
    const QCommandLineOption ttl(QStringLiteral("ttl-minutes"),
                                 QStringLiteral("Minutes the room lives (default 60)."),
                                 QStringLiteral("N"), QStringLiteral("60"));
    const QCommandLineOption makeToken(QStringLiteral("make-token"),
                                       QStringLiteral("Print a token for this e-mail and exit."),
                                       QStringLiteral("EMAIL"));
    parser.addOptions({port, host, domain, admin, ttl, makeToken});
    parser.process(app);

    ChatServer::Settings settings;
    // The signing secret comes from the environment, never from the command line where
    // other users could read it.
    settings.secret = qgetenv("CHAT_TOKEN_SECRET");
    if (settings.secret.isEmpty())
        settings.secret = "example-secret-change-me";
    if (parser.isSet(makeToken)) {
        QTextStream(stdout) << ChatServer::makeToken(parser.value(makeToken), settings.secret)
                            << Qt::endl;
        return 0;
    }
    settings.allowedDomain = parser.value(domain);
    settings.admins = parser.values(admin);
    settings.ttl = std::chrono::minutes(parser.value(ttl).toInt());

    ChatServer server(settings);
    if (!server.listen(QHostAddress(parser.value(host)), quint16(parser.value(port).toUInt()))) {
        QTextStream(stderr) << "cannot listen: " << server.syncer().errorString() << Qt::endl;
        return 1;
    }
    QTextStream(stdout) << "chat server on ws://" << parser.value(host) << ':'
                        << server.syncer().serverPort() << Qt::endl;
    return app.exec();
}
