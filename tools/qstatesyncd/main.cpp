// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "signalwatcher.h"

#include <QStateSyncer>

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qtextstream.h>

#include <cstdio>

Q_LOGGING_CATEGORY(lcDaemon, "qstatesync.daemon", QtInfoMsg)

namespace {
enum ExitCode { ExitOk = 0, ExitCannotListen = 1, ExitUsage = 2 };

int usageError(const QCommandLineParser &parser, const QString &message)
{
    QTextStream(stderr) << "qstatesyncd: " << message << "\n\n" << parser.helpText();
    return ExitUsage;
}
} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("qstatesyncd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QSTATESYNC_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
            "Serves shared states over WebSockets with the QStateSync protocol (v2) and the\n"
            "protocol of the JavaScript server-state-sync (v1). Clients connect to\n"
            "ws://HOST:PORT/?identifier=CLIENT&token=TOKEN and join a state by its identifier.\n"
            "Runs until SIGINT or SIGTERM, then closes every connection and exits with 0."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption portOption(
            {QStringLiteral("p"), QStringLiteral("port")},
            QStringLiteral("TCP port to listen on; 0 picks a free port, printed at start "
                           "(default 5000)."),
            QStringLiteral("N"), QStringLiteral("5000"));
    const QCommandLineOption hostOption(
            QStringLiteral("host"),
            QStringLiteral("Address to listen on, for example 127.0.0.1 or :: (default: every "
                           "address)."),
            QStringLiteral("ADDR"));
    const QCommandLineOption stateOption(
            {QStringLiteral("s"), QStringLiteral("state")},
            QStringLiteral("Create an empty state with this identifier; repeat for more states."),
            QStringLiteral("ID"));
    const QCommandLineOption certOption(
            QStringLiteral("cert"),
            QStringLiteral("PEM certificate (chain) file: serve wss instead of ws. Needs --key."),
            QStringLiteral("FILE"));
    const QCommandLineOption keyOption(QStringLiteral("key"),
                                       QStringLiteral("PEM private key file for --cert."),
                                       QStringLiteral("FILE"));
    const QCommandLineOption maxMessageOption(
            QStringLiteral("max-message-size"),
            QStringLiteral("Largest message a client may send, in bytes (default 1048576)."),
            QStringLiteral("BYTES"));
    const QCommandLineOption maxDepthOption(
            QStringLiteral("max-nesting-depth"),
            QStringLiteral("Deepest nesting of objects and arrays a message may have "
                           "(default 64)."),
            QStringLiteral("N"));
    parser.addOptions({portOption, hostOption, stateOption, certOption, keyOption, maxMessageOption,
                       maxDepthOption});
    parser.process(app);

    if (!parser.positionalArguments().isEmpty())
        return usageError(
                parser,
                QStringLiteral("unexpected argument %1").arg(parser.positionalArguments().first()));
    bool ok = false;
    const uint port = parser.value(portOption).toUInt(&ok);
    if (!ok || port > 65535)
        return usageError(parser, QStringLiteral("--port takes a number from 0 to 65535"));
    QHostAddress address(QHostAddress::Any);
    if (parser.isSet(hostOption) && !address.setAddress(parser.value(hostOption)))
        return usageError(parser, QStringLiteral("--host takes an IP address"));
    if (parser.isSet(certOption) != parser.isSet(keyOption))
        return usageError(parser, QStringLiteral("--cert and --key go together"));

    QStateSyncer syncer;
    if (parser.isSet(maxMessageOption)) {
        const qint64 bytes = parser.value(maxMessageOption).toLongLong(&ok);
        if (!ok || bytes <= 0)
            return usageError(parser, QStringLiteral("--max-message-size takes a positive number"));
        syncer.setMaxMessageSize(bytes);
    }
    if (parser.isSet(maxDepthOption)) {
        const int depth = parser.value(maxDepthOption).toInt(&ok);
        if (!ok || depth < 3)
            return usageError(parser,
                              QStringLiteral("--max-nesting-depth takes a number of at least 3"));
        syncer.setMaxNestingDepth(depth);
    }
    if (parser.isSet(certOption)
        && !syncer.setCertificateFiles(parser.value(certOption), parser.value(keyOption))) {
        return usageError(parser, QStringLiteral("cannot load the certificate or the key"));
    }

    const QStringList stateIdentifiers = parser.values(stateOption);
    for (const QString &identifier : stateIdentifiers) {
        QStateSyncStateOptions options;
        options.setIdentifier(identifier);
        if (syncer.createState(options).isNull())
            return usageError(parser, QStringLiteral("state %1 is given twice").arg(identifier));
    }

    QObject::connect(&syncer, &QStateSyncer::clientJoined, &syncer,
                     [](const QString &state, const QString &client) {
                         qCInfo(lcDaemon).noquote() << client << "joined" << state;
                     });
    QObject::connect(&syncer, &QStateSyncer::clientLeft, &syncer,
                     [](const QString &state, const QString &client) {
                         qCInfo(lcDaemon).noquote() << client << "left" << state;
                     });

    SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &app,
                     [&](int signalNumber) {
                         qCInfo(lcDaemon) << "signal" << signalNumber << "received, closing"
                                          << syncer.clientCount() << "connections";
                         syncer.close();
                         QCoreApplication::quit();
                     });

    if (!syncer.listen(address, quint16(port))) {
        qCCritical(lcDaemon).noquote()
                << "cannot listen on" << address.toString() << port << ":" << syncer.errorString();
        return ExitCannotListen;
    }
    const QString scheme = syncer.isSecure() ? QStringLiteral("wss") : QStringLiteral("ws");
    QString host = syncer.serverAddress().toString();
    if (syncer.serverAddress().protocol() == QAbstractSocket::IPv6Protocol)
        host = QLatin1Char('[') + host + QLatin1Char(']');
    // One line on standard output, so scripts and tests can learn the port.
    QTextStream(stdout) << "qstatesyncd listening on " << scheme << "://" << host << ':'
                        << syncer.serverPort() << " states: "
                        << (stateIdentifiers.isEmpty() ? QStringLiteral("(none)")
                                                       : stateIdentifiers.join(QLatin1Char(',')))
                        << Qt::endl;

    const int result = app.exec();
    qCInfo(lcDaemon) << "stopped";
    return result == 0 ? ExitOk : result;
}
