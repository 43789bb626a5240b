// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "daemonconfig.h"
#include "daemonlogging.h"
#include "jsonfields.h"

#include <QtCore/qdir.h>
#include <QtCore/qfile.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qset.h>

#include <limits>

namespace {
// The protocol refuses longer state identifiers, so a longer one could never be joined.
constexpr qsizetype MaxStateIdentifierLength = 1024;
// QTimer counts in int milliseconds.
constexpr qint64 MaxMilliseconds = std::numeric_limits<int>::max();
constexpr qint64 MaxCount = std::numeric_limits<int>::max();
constexpr qint64 MaxBytes = qint64(1) << 40;

QString lineAndColumn(const QByteArray &text, int offset)
{
    const QByteArray before = text.left(offset);
    const qsizetype line = before.count('\n') + 1;
    const qsizetype column = offset - (before.lastIndexOf('\n') + 1) + 1;
    return QStringLiteral("line %1, column %2").arg(line).arg(column);
}

class ConfigReader
{
public:
    ConfigReader(const QString &directory, ConfigError *error)
        : m_directory(directory)
        , m_error(error)
    { }

    void read(const QJsonObject &root, DaemonConfig *config);

private:
    QString resolvedPath(const QString &fileName) const
    {
        return QDir(m_directory).absoluteFilePath(QDir::fromNativeSeparators(fileName));
    }
    void readListen(const QJsonObject &value, DaemonConfig *config);
    void readTls(const QJsonObject &value, DaemonConfig *config);
    void readLimits(const QJsonObject &value, DaemonConfig *config);
    void readAuth(const QJsonObject &value, DaemonConfig *config);
    void readJwt(const QJsonObject &value, DaemonConfig *config);
    void readHttp(const QJsonObject &value, DaemonConfig *config);
    void readStates(const QJsonValue &value, DaemonConfig *config);
    void readStorage(const QJsonObject &value, DaemonConfig *config);

    QString m_directory;
    ConfigError *m_error;
};

void ConfigReader::read(const QJsonObject &root, DaemonConfig *config)
{
    JsonFields fields(root, QString(), m_error);
    if (const auto listen = fields.object(QStringLiteral("listen")))
        readListen(*listen, config);
    if (const auto tls = fields.object(QStringLiteral("tls")))
        readTls(*tls, config);
    if (const auto limits = fields.object(QStringLiteral("limits")))
        readLimits(*limits, config);
    if (const auto auth = fields.object(QStringLiteral("auth")))
        readAuth(*auth, config);
    if (const auto http = fields.object(QStringLiteral("http")))
        readHttp(*http, config);
    if (const auto hooks = fields.string(QStringLiteral("hooks")))
        config->hooksFile = resolvedPath(*hooks);
    if (const auto reveal = fields.boolean(QStringLiteral("revealStateExistence")))
        config->revealStateExistence = *reveal;
    if (const auto threads = fields.integer(QStringLiteral("ioThreads"), 0, 64))
        config->ioThreads = int(*threads);
    if (const auto threads = fields.integer(QStringLiteral("stateThreads"), 0, 64))
        config->stateThreads = int(*threads);
    if (const auto states = fields.value(QStringLiteral("states")))
        readStates(*states, config);
    if (const auto storage = fields.object(QStringLiteral("storage")))
        readStorage(*storage, config);
    if (const auto access = fields.value(QStringLiteral("access"))) {
        if (auto rules = AccessRules::fromJson(*access, QStringLiteral("access"), m_error))
            config->access = std::move(*rules);
    }
    fields.rejectUnknownKeys();
}

void ConfigReader::readStorage(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("storage"), m_error);
    if (const auto type = fields.string(QStringLiteral("type"))) {
        if (*type == QLatin1String("sqlite"))
            config->storage = DaemonConfig::Storage::Sqlite;
        else if (*type == QLatin1String("memory"))
            config->storage = DaemonConfig::Storage::Memory;
        else if (*type == QLatin1String("redis"))
            config->storage = DaemonConfig::Storage::Redis;
        else
            m_error->report(fields.pathOf(QStringLiteral("type")),
                            QStringLiteral("must be \"sqlite\", \"memory\" or \"redis\", not %1")
                                    .arg(*type));
    }
    if (const auto redis = fields.object(QStringLiteral("redis"))) {
        JsonFields redisFields(*redis, fields.pathOf(QStringLiteral("redis")), m_error);
        if (const auto host = redisFields.string(QStringLiteral("host")))
            config->redisHost = *host;
        if (const auto port = redisFields.integer(QStringLiteral("port"), 1, 65535))
            config->redisPort = int(*port);
        if (const auto prefix = redisFields.string(QStringLiteral("keyPrefix")))
            config->redisKeyPrefix = *prefix;
        if (const auto node = redisFields.string(QStringLiteral("node"))) {
            if (node->isEmpty())
                m_error->report(redisFields.pathOf(QStringLiteral("node")),
                                QStringLiteral("must name the node"));
            else
                config->nodeIdentifier = *node;
        }
        redisFields.rejectUnknownKeys();
    }
    if (const auto directory = fields.string(QStringLiteral("dataDirectory")))
        config->dataDirectory = resolvedPath(*directory);
    if (const auto durability = fields.string(QStringLiteral("durability"))) {
        if (*durability == QLatin1String("durable"))
            config->durable = true;
        else if (*durability == QLatin1String("batched"))
            config->durable = false;
        else
            m_error->report(
                    fields.pathOf(QStringLiteral("durability")),
                    QStringLiteral("must be \"batched\" or \"durable\", not %1").arg(*durability));
    }
    if (const auto ms = fields.integer(QStringLiteral("commitInterval"), 0, 60000))
        config->commitIntervalMs = int(*ms);
    fields.rejectUnknownKeys();
}

void ConfigReader::readListen(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("listen"), m_error);
    if (const auto host = fields.string(QStringLiteral("host"))) {
        if (!config->host.setAddress(*host)) {
            m_error->report(fields.pathOf(QStringLiteral("host")),
                            QStringLiteral("must be an IP address such as 127.0.0.1 or ::, not %1")
                                    .arg(*host));
        }
    }
    if (const auto port = fields.integer(QStringLiteral("port"), 0, 65535))
        config->port = quint16(*port);
    fields.rejectUnknownKeys();
}

void ConfigReader::readTls(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("tls"), m_error);
    const auto certificate = fields.string(QStringLiteral("certificate"));
    const auto key = fields.string(QStringLiteral("privateKey"));
    fields.rejectUnknownKeys();
    if (m_error->isSet())
        return;
    if (!certificate || !key) {
        m_error->report(QStringLiteral("tls"),
                        QStringLiteral("needs both \"certificate\" and \"privateKey\""));
        return;
    }
    config->certificateFile = resolvedPath(*certificate);
    config->privateKeyFile = resolvedPath(*key);
}

void ConfigReader::readLimits(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("limits"), m_error);
    if (const auto bytes = fields.integer(QStringLiteral("maxMessageSize"), 1, 1 << 30))
        config->maxMessageSize = *bytes;
    // Three levels are the envelope of the smallest update; QJsonDocument stops near 1024.
    if (const auto depth = fields.integer(QStringLiteral("maxNestingDepth"), 3, 1000))
        config->maxNestingDepth = int(*depth);
    if (const auto ms = fields.integer(QStringLiteral("handshakeTimeout"), 1, MaxMilliseconds))
        config->handshakeTimeoutMs = int(*ms);
    if (const auto ms = fields.integer(QStringLiteral("hookTimeout"), 1, MaxMilliseconds))
        config->hookTimeoutMs = int(*ms);
    if (const auto ms = fields.integer(QStringLiteral("shutdownTimeout"), 0, MaxMilliseconds))
        config->shutdownTimeoutMs = int(*ms);
    if (const auto ms = fields.integer(QStringLiteral("heartbeatInterval"), 0, MaxMilliseconds))
        config->heartbeatIntervalMs = int(*ms);
    if (const auto bytes = fields.integer(QStringLiteral("maxStateSize"), 0, MaxBytes))
        config->maxStateSize = *bytes;
    if (const auto clients = fields.integer(QStringLiteral("maxClientsPerState"), 0, MaxCount))
        config->maxClientsPerState = int(*clients);
    if (const auto clients = fields.integer(QStringLiteral("maxClients"), 0, MaxCount))
        config->maxClients = int(*clients);
    if (const auto rate = fields.number(QStringLiteral("updateRate"), 0, 1e6))
        config->updateRate = *rate;
    if (const auto burst = fields.integer(QStringLiteral("updateBurst"), 1, MaxCount))
        config->updateBurst = int(*burst);
    if (const auto handshakes = fields.integer(QStringLiteral("maxPendingHandshakes"), 0, MaxCount))
        config->maxPendingHandshakes = int(*handshakes);
    if (const auto bytes = fields.integer(QStringLiteral("maxPendingOutput"), 0, MaxBytes))
        config->maxPendingOutput = *bytes;
    fields.rejectUnknownKeys();
}

void ConfigReader::readAuth(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("auth"), m_error);
    if (const auto required = fields.boolean(QStringLiteral("requireToken")))
        config->requireToken = *required;
    if (const auto jwt = fields.object(QStringLiteral("jwt")))
        readJwt(*jwt, config);
    fields.rejectUnknownKeys();
}

void ConfigReader::readJwt(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("auth.jwt"), m_error);
    config->jwtConfigured = true;
    if (const auto file = fields.string(QStringLiteral("secretFile")))
        config->jwtSecretFile = resolvedPath(*file);
    if (const auto leeway = fields.integer(QStringLiteral("leeway"), 0, 3600))
        config->jwtLeeway = std::chrono::seconds(*leeway);
    if (const auto requireExpiry = fields.boolean(QStringLiteral("requireExpiry")))
        config->jwtRequireExpiry = *requireExpiry;
    if (const auto issuer = fields.string(QStringLiteral("issuer")))
        config->jwtIssuer = *issuer;
    if (const auto audience = fields.value(QStringLiteral("audience"))) {
        const QString path = fields.pathOf(QStringLiteral("audience"));
        const QJsonArray list = audience->isArray() ? audience->toArray() : QJsonArray{*audience};
        for (const QJsonValue &entry : list) {
            if (!entry.isString() || entry.toString().isEmpty()) {
                m_error->report(path,
                                QStringLiteral("must be a non-empty string or a list of "
                                               "them"));
                return;
            }
            config->jwtAudiences.append(entry.toString());
        }
        if (config->jwtAudiences.isEmpty())
            m_error->report(path, QStringLiteral("must name at least one audience"));
    }
    fields.rejectUnknownKeys();
}

void ConfigReader::readHttp(const QJsonObject &value, DaemonConfig *config)
{
    JsonFields fields(value, QStringLiteral("http"), m_error);
    if (const auto healthz = fields.boolean(QStringLiteral("healthz")))
        config->healthzEnabled = *healthz;
    if (const auto metrics = fields.boolean(QStringLiteral("metrics")))
        config->metricsEnabled = *metrics;
    fields.rejectUnknownKeys();
}

void ConfigReader::readStates(const QJsonValue &value, DaemonConfig *config)
{
    if (!value.isArray()) {
        m_error->report(QStringLiteral("states"),
                        QStringLiteral("must be an array of states, not ") + jsonTypeName(value));
        return;
    }
    const QJsonArray states = value.toArray();
    QSet<QString> seen;
    for (qsizetype i = 0; i < states.size() && !m_error->isSet(); ++i) {
        JsonFields fields(states.at(i), ConfigError::indexPath(QStringLiteral("states"), i),
                          m_error);
        if (!fields.isValid())
            return;
        StateConfig state;
        const auto identifier = fields.string(QStringLiteral("identifier"));
        const QString identifierPath = fields.pathOf(QStringLiteral("identifier"));
        if (!identifier) {
            m_error->report(identifierPath, QStringLiteral("is required"));
            return;
        }
        if (identifier->size() > MaxStateIdentifierLength) {
            m_error->report(
                    identifierPath,
                    QStringLiteral("is longer than %1 characters").arg(MaxStateIdentifierLength));
            return;
        }
        if (seen.contains(*identifier)) {
            m_error->report(identifierPath,
                            QStringLiteral("state %1 is defined twice").arg(*identifier));
            return;
        }
        seen.insert(*identifier);
        state.identifier = *identifier;
        if (const auto initialValue = fields.object(QStringLiteral("initialValue")))
            state.initialValue = *initialValue;
        if (const auto ttl = fields.integer(QStringLiteral("ttl"), 0, MaxMilliseconds))
            state.ttl = std::chrono::milliseconds(*ttl);
        if (const auto selfDestruct = fields.boolean(QStringLiteral("selfDestructWhenEmpty")))
            state.selfDestructWhenEmpty = *selfDestruct;
        if (const auto mode = fields.string(QStringLiteral("mergeMode"))) {
            if (*mode == QLatin1String("deep")) {
                state.mergeMode = QStateSync::MergeMode::Deep;
            } else if (*mode == QLatin1String("shallow")) {
                state.mergeMode = QStateSync::MergeMode::Shallow;
            } else {
                m_error->report(
                        fields.pathOf(QStringLiteral("mergeMode")),
                        QStringLiteral("must be \"deep\" or \"shallow\", not \"%1\"").arg(*mode));
            }
        }
        fields.rejectUnknownKeys();
        config->states.append(state);
    }
}
} // namespace

std::optional<DaemonConfig> loadConfigFile(const QString &fileName, QString *error)
{
    QFile file(fileName);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(fileName, file.errorString());
        return std::nullopt;
    }
    const QByteArray text = file.readAll();
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(text, &parseError);
    if (parseError.error != QJsonParseError::NoError) {
        *error = QStringLiteral("%1: not valid JSON at %2: %3")
                         .arg(fileName, lineAndColumn(text, parseError.offset),
                              parseError.errorString());
        return std::nullopt;
    }
    if (!document.isObject()) {
        *error = QStringLiteral("%1: must hold a JSON object").arg(fileName);
        return std::nullopt;
    }
    DaemonConfig config;
    ConfigError configError;
    ConfigReader(QFileInfo(fileName).absolutePath(), &configError).read(document.object(), &config);
    if (configError.isSet()) {
        *error = fileName + QStringLiteral(": ") + configError.message();
        return std::nullopt;
    }
    return config;
}

std::optional<QByteArray> readSecretFile(const QString &fileName, QString *error)
{
    QFile file(fileName);
    if (!file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read the JWT secret file %1: %2")
                         .arg(fileName, file.errorString());
        return std::nullopt;
    }
    QByteArray secret = file.readAll();
    if (secret.endsWith('\n'))
        secret.chop(secret.endsWith("\r\n") ? 2 : 1);
    if (secret.isEmpty()) {
        *error = QStringLiteral("the JWT secret file %1 is empty").arg(fileName);
        return std::nullopt;
    }
    if (file.permissions() & QFileDevice::ReadOther) {
        qCWarning(lcDaemon).noquote()
                << "the JWT secret file" << fileName << "may be read by other users; chmod 600 it";
    }
    return secret;
}
