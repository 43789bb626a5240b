// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "daemonconfig.h"
#include "daemonlogging.h"
#include "signalwatcher.h"
#include "statesyncdaemon.h"

#include <QtCore/qcommandlineparser.h>
#include <QtCore/qcoreapplication.h>
#include <QtCore/qdir.h>
#include <QtCore/qtextstream.h>

#include <cstdio>

#include <sys/resource.h>

namespace {
enum ExitCode { ExitOk = 0, ExitCannotListen = 1, ExitUsage = 2 };

struct Options
{
    QCommandLineOption help{{QStringLiteral("h"), QStringLiteral("help")},
                            QStringLiteral("Print this help and exit.")};
    QCommandLineOption version{{QStringLiteral("v"), QStringLiteral("version")},
                               QStringLiteral("Print the version and exit.")};
    QCommandLineOption config{{QStringLiteral("c"), QStringLiteral("config")},
                              QStringLiteral("Read the JSON configuration FILE (listen address, "
                                             "TLS, limits, tokens, states, access rules, "
                                             "hooks). The options below override it."),
                              QStringLiteral("FILE")};
    QCommandLineOption port{{QStringLiteral("p"), QStringLiteral("port")},
                            QStringLiteral("TCP port to listen on; 0 picks a free port, printed "
                                           "at start (default 5000)."),
                            QStringLiteral("N")};
    QCommandLineOption host{QStringLiteral("host"),
                            QStringLiteral("Address to listen on, for example 127.0.0.1 or :: "
                                           "(default: every address)."),
                            QStringLiteral("ADDR")};
    QCommandLineOption state{{QStringLiteral("s"), QStringLiteral("state")},
                             QStringLiteral("Create an empty state with this identifier, next to "
                                            "those of the configuration; repeat for more."),
                             QStringLiteral("ID")};
    QCommandLineOption cert{QStringLiteral("cert"),
                            QStringLiteral("PEM certificate (chain) file: serve wss instead of "
                                           "ws. Needs --key."),
                            QStringLiteral("FILE")};
    QCommandLineOption key{QStringLiteral("key"),
                           QStringLiteral("PEM private key file for --cert."),
                           QStringLiteral("FILE")};
    QCommandLineOption maxMessageSize{QStringLiteral("max-message-size"),
                                      QStringLiteral("Largest message a client may send, in "
                                                     "bytes (default 1048576)."),
                                      QStringLiteral("BYTES")};
    QCommandLineOption maxNestingDepth{QStringLiteral("max-nesting-depth"),
                                       QStringLiteral("Deepest nesting of objects and arrays a "
                                                      "message may have (default 64)."),
                                       QStringLiteral("N")};
    QCommandLineOption ioThreads{QStringLiteral("io-threads"),
                                 QStringLiteral("Threads that serve the plain (ws) connections; "
                                                "0 serves them on the main thread (default: "
                                                "the number of cores, at most 4)."),
                                 QStringLiteral("N")};
    QCommandLineOption stateThreads{
            QStringLiteral("state-threads"),
            QStringLiteral("Threads that merge and encode the changes of states that no hook "
                           "watches; 0 does it on the main thread (the default)."),
            QStringLiteral("N")};
    QCommandLineOption storage{QStringLiteral("storage"),
                               QStringLiteral("Where the states are kept: sqlite (a file in the "
                                              "data directory; the default), memory (they "
                                              "end with the process) or redis (shared with "
                                              "the other nodes of a cluster; see --redis)."),
                               QStringLiteral("TYPE")};
    QCommandLineOption dataDir{QStringLiteral("data-dir"),
                               QStringLiteral("Folder of the SQLite file states.sqlite (default: "
                                              "the user's application data folder, e.g. "
                                              "~/.local/share/qstatesyncd)."),
                               QStringLiteral("DIR")};
    QCommandLineOption durability{QStringLiteral("durability"),
                                  QStringLiteral("batched (default): changes are written at most "
                                                 "100 ms after they are applied; durable: no "
                                                 "change is acknowledged or shown before it is "
                                                 "on disk."),
                                  QStringLiteral("MODE")};
    QCommandLineOption redis{QStringLiteral("redis"),
                             QStringLiteral("The Redis server of the cluster, with --storage "
                                            "redis (default 127.0.0.1:6379)."),
                             QStringLiteral("HOST:PORT")};
    QCommandLineOption nodeId{QStringLiteral("node-id"),
                              QStringLiteral("This node's name in the cluster, unique among "
                                             "its nodes (default: a new UUID)."),
                              QStringLiteral("NAME")};
    QCommandLineOption hooks{QStringLiteral("hooks"),
                             QStringLiteral("Load the hook functions (authorize, "
                                            "allowConnectingClient, interceptStateUpdate, "
                                            "interceptStateAppend, joinRequested, "
                                            "updateRequested) from a .js or .qml FILE."),
                             QStringLiteral("FILE")};
    QCommandLineOption jwtSecretFile{QStringLiteral("jwt-secret-file"),
                                     QStringLiteral("Check tokens as HS256 JWTs signed with the "
                                                    "secret in FILE; their claims become the "
                                                    "client information. The secret may also "
                                                    "come from the environment variable "
                                                    "QSTATESYNC_JWT_SECRET."),
                                     QStringLiteral("FILE")};
    QCommandLineOption checkConfig{QStringLiteral("check-config"),
                                   QStringLiteral("Check the configuration, the hooks, the "
                                                  "certificate, the secret and that the data "
                                                  "directory can be written, then exit "
                                                  "without listening (the database is not "
                                                  "opened).")};
};

const QString Description = QStringLiteral(
        "Serves shared states over WebSockets with the QStateSync protocol (v2) and the\n"
        "protocol of the JavaScript server-state-sync (v1). Clients connect to\n"
        "ws://HOST:PORT/?identifier=CLIENT&token=TOKEN and join a state by its identifier.\n"
        "The same port answers GET /healthz and GET /metrics (Prometheus).\n"
        "Runs until SIGINT or SIGTERM, then closes every connection (close code 1001)\n"
        "and exits with 0. Exit status 1: cannot listen; 2: a wrong option or\n"
        "configuration. The manual is doc/qstatesyncd.md.");

int usageError(const QCommandLineParser &parser, const QString &message)
{
    QTextStream(stderr) << "qstatesyncd: " << message << "\n\n" << parser.helpText();
    return ExitUsage;
}

int configError(const QString &message)
{
    QTextStream(stderr) << "qstatesyncd: " << message << '\n';
    return ExitUsage;
}

// Lays the command line over the configuration file. Returns an error message, or an
// empty string.
QString applyCommandLine(const QCommandLineParser &parser, const Options &options,
                         DaemonConfig *config)
{
    bool ok = false;
    if (parser.isSet(options.port)) {
        const uint port = parser.value(options.port).toUInt(&ok);
        if (!ok || port > 65535)
            return QStringLiteral("--port takes a number from 0 to 65535");
        config->port = quint16(port);
    }
    if (parser.isSet(options.host) && !config->host.setAddress(parser.value(options.host)))
        return QStringLiteral("--host takes an IP address");
    if (parser.isSet(options.cert) != parser.isSet(options.key))
        return QStringLiteral("--cert and --key go together");
    if (parser.isSet(options.cert)) {
        config->certificateFile = parser.value(options.cert);
        config->privateKeyFile = parser.value(options.key);
    }
    if (parser.isSet(options.maxMessageSize)) {
        config->maxMessageSize = parser.value(options.maxMessageSize).toLongLong(&ok);
        if (!ok || config->maxMessageSize <= 0)
            return QStringLiteral("--max-message-size takes a positive number");
    }
    if (parser.isSet(options.maxNestingDepth)) {
        config->maxNestingDepth = parser.value(options.maxNestingDepth).toInt(&ok);
        if (!ok || config->maxNestingDepth < 3 || config->maxNestingDepth > 1000)
            return QStringLiteral("--max-nesting-depth takes a number from 3 to 1000");
    }
    if (parser.isSet(options.ioThreads)) {
        const int threads = parser.value(options.ioThreads).toInt(&ok);
        if (!ok || threads < 0 || threads > 64)
            return QStringLiteral("--io-threads takes a number from 0 to 64");
        config->ioThreads = threads;
    }
    if (parser.isSet(options.stateThreads)) {
        const int threads = parser.value(options.stateThreads).toInt(&ok);
        if (!ok || threads < 0 || threads > 64)
            return QStringLiteral("--state-threads takes a number from 0 to 64");
        config->stateThreads = threads;
    }
    if (parser.isSet(options.storage)) {
        const QString type = parser.value(options.storage);
        if (type == QLatin1String("sqlite"))
            config->storage = DaemonConfig::Storage::Sqlite;
        else if (type == QLatin1String("memory"))
            config->storage = DaemonConfig::Storage::Memory;
        else if (type == QLatin1String("redis"))
            config->storage = DaemonConfig::Storage::Redis;
        else
            return QStringLiteral("--storage takes sqlite, memory or redis");
    }
    if (parser.isSet(options.redis)) {
        const QString address = parser.value(options.redis);
        const qsizetype colon = address.lastIndexOf(QLatin1Char(':'));
        const int port = colon > 0 ? address.mid(colon + 1).toInt(&ok) : 0;
        if (colon <= 0 || !ok || port < 1 || port > 65535)
            return QStringLiteral("--redis takes HOST:PORT, e.g. 127.0.0.1:6379");
        config->redisHost = address.left(colon);
        config->redisPort = port;
    }
    if (parser.isSet(options.nodeId)) {
        if (parser.value(options.nodeId).isEmpty())
            return QStringLiteral("--node-id takes a name");
        config->nodeIdentifier = parser.value(options.nodeId);
    }
    if (parser.isSet(options.dataDir)) {
        if (parser.value(options.dataDir).isEmpty())
            return QStringLiteral("--data-dir takes a folder");
        config->dataDirectory = QDir(parser.value(options.dataDir)).absolutePath();
    }
    if (parser.isSet(options.durability)) {
        const QString mode = parser.value(options.durability);
        if (mode != QLatin1String("batched") && mode != QLatin1String("durable"))
            return QStringLiteral("--durability takes batched or durable");
        config->durable = mode == QLatin1String("durable");
    }
    if (parser.isSet(options.hooks))
        config->hooksFile = parser.value(options.hooks);
    const QStringList states = parser.values(options.state);
    for (const QString &identifier : states) {
        if (identifier.isEmpty())
            return QStringLiteral("--state takes a non-empty identifier");
        StateConfig state;
        state.identifier = identifier;
        config->states.append(state);
    }
    return QString();
}

// The secret comes from the first of: --jwt-secret-file, the environment, the
// configuration's secretFile. Returns an error message, or an empty string.
QString resolveJwtSecret(const QCommandLineParser &parser, const Options &options,
                         DaemonConfig *config)
{
    QString error;
    std::optional<QByteArray> secret;
    if (parser.isSet(options.jwtSecretFile)) {
        secret = readSecretFile(parser.value(options.jwtSecretFile), &error);
    } else if (const QByteArray fromEnvironment = qgetenv(JwtSecretVariable);
               !fromEnvironment.isEmpty()) {
        secret = fromEnvironment;
    } else if (!config->jwtSecretFile.isEmpty()) {
        secret = readSecretFile(config->jwtSecretFile, &error);
    } else {
        return QString();
    }
    if (!secret)
        return error;
    config->jwtSecret = *secret;
    return QString();
}
} // namespace

int main(int argc, char *argv[])
{
    // Every client is a descriptor: take all the system allows, not the usual 1024.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("qstatesyncd"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QSTATESYNC_VERSION));

    const Options options;
    QCommandLineParser parser;
    parser.setApplicationDescription(Description);
    parser.addOptions({options.help,           options.version,
                       options.config,         options.port,
                       options.host,           options.state,
                       options.cert,           options.key,
                       options.maxMessageSize, options.maxNestingDepth,
                       options.ioThreads,      options.stateThreads,
                       options.storage,        options.dataDir,
                       options.durability,     options.redis,
                       options.nodeId,         options.hooks,
                       options.jwtSecretFile,  options.checkConfig});
    // parse() rather than process(): a wrong option exits with 2, like every other
    // mistake, instead of process()'s 1, which means "cannot listen" here.
    if (!parser.parse(QCoreApplication::arguments()))
        return usageError(parser, parser.errorText());
    if (parser.isSet(options.help)) {
        QTextStream(stdout) << parser.helpText();
        return ExitOk;
    }
    if (parser.isSet(options.version)) {
        QTextStream(stdout) << "qstatesyncd " << QCoreApplication::applicationVersion() << '\n';
        return ExitOk;
    }
    if (!parser.positionalArguments().isEmpty()) {
        return usageError(
                parser,
                QStringLiteral("unexpected argument %1").arg(parser.positionalArguments().first()));
    }

    DaemonConfig config;
    QString error;
    if (parser.isSet(options.config)) {
        std::optional<DaemonConfig> loaded = loadConfigFile(parser.value(options.config), &error);
        if (!loaded)
            return configError(error);
        config = std::move(*loaded);
    }
    error = applyCommandLine(parser, options, &config);
    if (!error.isEmpty())
        return usageError(parser, error);
    error = resolveJwtSecret(parser, options, &config);
    if (!error.isEmpty())
        return configError(error);

    StateSyncDaemon daemon(std::move(config));
    if (!daemon.setUp(&error,
                      parser.isSet(options.checkConfig) ? StateSyncDaemon::Mode::CheckOnly
                                                        : StateSyncDaemon::Mode::Serve))
        return configError(error);
    if (parser.isSet(options.checkConfig)) {
        QTextStream(stdout) << "qstatesyncd: configuration OK\n";
        return ExitOk;
    }

    SignalWatcher signalWatcher;
    QObject::connect(&signalWatcher, &SignalWatcher::terminationRequested, &daemon,
                     &StateSyncDaemon::shutDown);
    QObject::connect(&daemon, &StateSyncDaemon::stopped, &app, &QCoreApplication::quit,
                     Qt::QueuedConnection);

    if (!daemon.listen(&error)) {
        qCCritical(lcDaemon).noquote() << error;
        return ExitCannotListen;
    }
    // One line on standard output, so scripts and tests can learn the port.
    const QStringList states = daemon.stateIdentifiers();
    QTextStream(stdout) << "qstatesyncd listening on " << daemon.url().toString() << " states: "
                        << (states.isEmpty() ? QStringLiteral("(none)")
                                             : states.join(QLatin1Char(',')))
                        << Qt::endl;

    const int result = app.exec();
    qCInfo(lcDaemon) << "stopped";
    return result == 0 ? ExitOk : result;
}
