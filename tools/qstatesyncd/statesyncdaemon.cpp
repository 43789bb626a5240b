// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "statesyncdaemon.h"
#include "daemonlogging.h"
#include "httpendpoints.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncJoinRequest>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qdir.h>
#include <QtCore/qset.h>
#include <QtCore/qstandardpaths.h>
#include <QtCore/qtemporarydir.h>
#include <QtCore/qtemporaryfile.h>
#include <QtCore/qtimer.h>

namespace {
// Whether the data directory is (or can be made) a folder this process may write in,
// tried with a temporary entry that is removed at once.
bool checkDataDirectory(const QString &directory, QString *error)
{
    const QFileInfo info(directory);
    if (info.exists()) {
        QTemporaryFile probe(QDir(directory).filePath(QStringLiteral("check-XXXXXX")));
        if (info.isDir() && probe.open())
            return true;
        *error = QStringLiteral("cannot use the storage: cannot write in the data directory %1")
                         .arg(QDir::toNativeSeparators(directory));
        return false;
    }
    QString ancestor = QDir::cleanPath(QDir(directory).absolutePath());
    while (!QFileInfo::exists(ancestor) && ancestor != QFileInfo(ancestor).absolutePath())
        ancestor = QFileInfo(ancestor).absolutePath();
    const QTemporaryDir probe(QDir(ancestor).filePath(QStringLiteral("check-XXXXXX")));
    if (QFileInfo(ancestor).isDir() && probe.isValid())
        return true;
    *error = QStringLiteral("cannot use the storage: cannot create the data directory %1")
                     .arg(QDir::toNativeSeparators(directory));
    return false;
}

// The token from the "token" query item, as the original's clients send it, or else
// from an "Authorization: Bearer" header, which clients outside browsers can send.
QByteArray tokenOf(const QStateSyncAuthorizationRequest *request)
{
    if (!request->token().isEmpty())
        return request->token().toUtf8();
    const QByteArray authorization = request->header("authorization").trimmed();
    const QByteArray scheme = "bearer ";
    if (authorization.size() > scheme.size()
        && authorization.left(scheme.size()).toLower() == scheme) {
        return authorization.mid(scheme.size()).trimmed();
    }
    return QByteArray();
}
} // namespace

StateSyncDaemon::StateSyncDaemon(DaemonConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
    , m_syncer(std::make_unique<QStateSyncer>())
{ }

StateSyncDaemon::~StateSyncDaemon()
{
    m_syncer.reset();
}

bool StateSyncDaemon::setUp(QString *error, Mode mode)
{
    if (!setUpStorage(mode, error))
        return false;
    if (m_config.maxMessageSize > 0)
        m_syncer->setMaxMessageSize(m_config.maxMessageSize);
    if (m_config.maxNestingDepth > 0)
        m_syncer->setMaxNestingDepth(m_config.maxNestingDepth);
    if (m_config.handshakeTimeoutMs > 0)
        m_syncer->setHandshakeTimeout(m_config.handshakeTimeoutMs);
    if (m_config.heartbeatIntervalMs)
        m_syncer->setHeartbeatInterval(*m_config.heartbeatIntervalMs);
    if (m_config.maxStateSize)
        m_syncer->setMaxStateSize(*m_config.maxStateSize);
    if (m_config.maxClientsPerState)
        m_syncer->setMaxClientsPerState(*m_config.maxClientsPerState);
    if (m_config.maxClients)
        m_syncer->setMaxClients(*m_config.maxClients);
    if (m_config.updateRate)
        m_syncer->setUpdateRate(*m_config.updateRate);
    if (m_config.updateBurst)
        m_syncer->setUpdateBurst(*m_config.updateBurst);
    if (m_config.maxPendingHandshakes)
        m_syncer->setMaxPendingHandshakes(*m_config.maxPendingHandshakes);
    if (m_config.maxPendingOutput)
        m_syncer->setMaxPendingOutput(*m_config.maxPendingOutput);
    m_syncer->setRevealStateExistence(m_config.revealStateExistence);
    if (m_config.ioThreads)
        m_syncer->setIoThreads(*m_config.ioThreads);
    if (m_config.stateThreads)
        m_syncer->setStateThreads(*m_config.stateThreads);
    if (!m_config.certificateFile.isEmpty()
        && !m_syncer->setCertificateFiles(m_config.certificateFile, m_config.privateKeyFile)) {
        *error = QStringLiteral("cannot load the certificate %1 or the key %2")
                         .arg(m_config.certificateFile, m_config.privateKeyFile);
        return false;
    }

    if (!m_config.hooksFile.isEmpty()) {
        m_hooks = ScriptHooks::load(m_config.hooksFile, m_syncer.get(), error);
        if (!m_hooks)
            return false;
        m_hooks->setAnswerTimeout(std::chrono::milliseconds(m_config.hookTimeoutMs));
        m_hooks->setExplainJoinRefusals(m_config.revealStateExistence);
        qCInfo(lcDaemon).noquote().nospace() << "hooks from " << m_config.hooksFile << ": "
                                             << m_hooks->hookNames().join(QStringLiteral(", "));
        if (m_hooks->has(ScriptHooks::JoinRequested)) {
            connect(m_syncer.get(), &QStateSyncer::joinRequested, m_hooks.get(),
                    &ScriptHooks::handleJoinRequest);
        }
        if (m_hooks->has(ScriptHooks::UpdateRequested)) {
            connect(m_syncer.get(), &QStateSyncer::updateRequested, m_hooks.get(),
                    &ScriptHooks::handleUpdateRequest);
        }
    }
    if (!setUpTokenChecks(error))
        return false;

    for (const StateConfig &state : std::as_const(m_config.states)) {
        if (m_syncer->createState(stateOptions(state)).isNull()) {
            *error = QStringLiteral("state %1 is given twice").arg(state.identifier);
            return false;
        }
    }
    reportUnconfiguredStates();

    new HttpEndpoints(
            m_syncer.get(), {m_config.healthzEnabled, m_config.metricsEnabled},
            [this] {
                return DaemonCounters{m_connectionsRefused, m_hooks ? m_hooks->errorCount() : 0};
            },
            this);
    connect(m_syncer.get(), &QStateSyncer::clientJoined, this,
            [](const QString &state, const QString &client) {
                qCInfo(lcDaemon).noquote() << client << "joined" << state;
            });
    connect(m_syncer.get(), &QStateSyncer::clientLeft, this,
            [](const QString &state, const QString &client) {
                qCInfo(lcDaemon).noquote() << client << "left" << state;
            });
    connect(m_syncer.get(), &QStateSyncer::stateRemoved, this,
            [](const QString &state, QStateSync::RemovalReason reason) {
                qCInfo(lcDaemon).noquote()
                        << "state" << state << "removed:" << QStateSync::removalReasonName(reason);
            });
    return true;
}

bool StateSyncDaemon::setUpStorage(Mode mode, QString *error)
{
    if (m_config.storage == DaemonConfig::Storage::Memory) {
        qCInfo(lcDaemon) << "states are kept in memory only";
        return true;
    }
    if (m_config.storage == DaemonConfig::Storage::Redis) {
        if (mode == Mode::CheckOnly) {
            // A check changes nothing, in Redis neither.
            qCInfo(lcDaemon).noquote()
                    << "the Redis server at"
                    << QStringLiteral("%1:%2").arg(m_config.redisHost).arg(m_config.redisPort)
                    << "was not contacted";
            return true;
        }
        auto storage = std::make_unique<QStateSyncRedisStorage>();
        storage->setHostName(m_config.redisHost);
        storage->setPort(m_config.redisPort);
        storage->setKeyPrefix(m_config.redisKeyPrefix);
        if (!m_config.nodeIdentifier.isEmpty())
            storage->setNodeIdentifier(m_config.nodeIdentifier);
        m_storage = std::move(storage);
        if (!m_syncer->setStorage(m_storage.get())) {
            *error = QStringLiteral("cannot use the storage: %1").arg(m_storage->errorString());
            return false;
        }
        return true;
    }
    QString directory = m_config.dataDirectory;
    if (directory.isEmpty())
        directory = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    if (directory.isEmpty()) {
        *error = QStringLiteral("no data directory: give one with --data-dir");
        return false;
    }
    if (mode == Mode::CheckOnly) {
        // A check changes nothing: the database of a running daemon stays its own.
        if (!checkDataDirectory(directory, error))
            return false;
        qCInfo(lcDaemon).noquote() << "the data directory" << QDir::toNativeSeparators(directory)
                                   << "can be written (the database was not opened)";
        return true;
    }
    auto storage = std::make_unique<QStateSyncSqliteStorage>(
            QDir(directory).filePath(QStringLiteral("states.sqlite")));
    storage->setDurability(m_config.durable ? QStateSyncSqliteStorage::Durability::Durable
                                            : QStateSyncSqliteStorage::Durability::Batched);
    storage->setCommitInterval(m_config.commitIntervalMs);
    m_storage = std::move(storage);
    if (!m_syncer->setStorage(m_storage.get())) {
        *error = QStringLiteral("cannot use the storage: %1").arg(m_storage->errorString());
        return false;
    }
    return true;
}

void StateSyncDaemon::reportUnconfiguredStates()
{
    QSet<QString> configured;
    for (const StateConfig &state : std::as_const(m_config.states))
        configured.insert(state.identifier);
    for (const QString &identifier : m_syncer->stateIdentifiers()) {
        if (configured.contains(identifier))
            continue;
        // Its rules and hooks are those of a configuration that no longer names it.
        qCWarning(lcDaemon).noquote()
                << "state" << identifier
                << "is stored but not in the configuration: it stays closed to clients "
                   "(state_not_found); name it in the configuration to serve it again";
    }
}

bool StateSyncDaemon::setUpTokenChecks(QString *error)
{
    const bool authorizeHook = m_hooks && m_hooks->has(ScriptHooks::Authorize);
    if (!m_config.jwtSecret.isEmpty()) {
        JwtVerifier::Options options;
        options.secret = m_config.jwtSecret;
        options.leeway = m_config.jwtLeeway;
        options.requireExpiry = m_config.jwtRequireExpiry;
        options.issuer = m_config.jwtIssuer;
        options.audiences = m_config.jwtAudiences;
        m_jwt.emplace(options);
    } else if (m_config.jwtConfigured) {
        *error = QStringLiteral("auth.jwt is configured but no JWT secret was given: use "
                                "--jwt-secret-file, %1 or auth.jwt.secretFile")
                         .arg(QLatin1String(JwtSecretVariable));
        return false;
    }
    m_requireToken = m_config.requireToken.value_or(m_jwt.has_value());
    if (m_requireToken && !m_jwt && !authorizeHook) {
        // Requiring a token nobody checks would let any string in.
        *error = QStringLiteral("auth.requireToken needs a JWT secret or an authorize hook "
                                "to check the tokens");
        return false;
    }
    if (m_jwt) {
        qCInfo(lcDaemon).noquote()
                << "tokens: JWT HS256," << (m_requireToken ? "required" : "optional");
    }
    if (m_jwt || m_requireToken || authorizeHook) {
        connect(m_syncer.get(), &QStateSyncer::authorizationRequested, this,
                &StateSyncDaemon::authorize);
    }
    return true;
}

void StateSyncDaemon::authorize(QStateSyncAuthorizationRequest *request)
{
    connect(request, &QStateSyncRequest::finished, this, [this, request] {
        if (request->status() == QStateSyncRequest::Rejected)
            ++m_connectionsRefused;
    });
    const QByteArray token = tokenOf(request);
    std::optional<QVariantMap> claims;
    if (token.isEmpty()) {
        if (m_requireToken) {
            qCInfo(lcDaemon).noquote().nospace()
                    << "refused " << request->clientIdentifier() << " from "
                    << request->peerAddressString() << ": no token";
            request->reject(QStringLiteral("A token is required"));
            return;
        }
    } else if (m_jwt) {
        const JwtVerifier::Result result = m_jwt->verify(token);
        if (!result.valid) {
            // The reason only: the token itself is a credential and is never logged.
            qCInfo(lcDaemon).noquote().nospace()
                    << "refused " << request->clientIdentifier() << " from "
                    << request->peerAddressString() << ": " << result.error;
            request->reject(QStringLiteral("Invalid token: ") + result.error);
            return;
        }
        claims = result.claims.toVariantMap();
    }
    if (m_hooks && m_hooks->has(ScriptHooks::Authorize)) {
        m_hooks->authorize(request, claims);
        return;
    }
    request->accept(claims.value_or(QVariantMap()));
}

QStateSyncStateOptions StateSyncDaemon::stateOptions(const StateConfig &state)
{
    QStateSyncStateOptions options;
    options.setIdentifier(state.identifier);
    options.setInitialValue(state.initialValue);
    options.setTtl(state.ttl);
    options.setMergeMode(state.mergeMode);
    if (state.selfDestructWhenEmpty)
        options.setSelfDestruct(
                [](int clientsLeft, const QDateTime &) { return clientsLeft == 0; });

    // The rules and the script's own filters run as the state's callbacks, first in the
    // server's pipeline: a client that may not write is refused before any hook sees
    // its change.
    const QString identifier = state.identifier;
    const bool rules = m_config.access.isConfigured();
    const auto hasHook = [this](ScriptHooks::Hook hook) { return m_hooks && m_hooks->has(hook); };
    if (rules || hasHook(ScriptHooks::AllowConnectingClient)) {
        options.setAllowConnectingClient([this, identifier](const QVariantMap &information) {
            return mayJoin(identifier, information);
        });
    }
    const bool updateHook = hasHook(ScriptHooks::InterceptStateUpdate);
    const bool appendHook = hasHook(ScriptHooks::InterceptStateAppend);
    if (rules || updateHook) {
        options.setInterceptStateUpdate([this, identifier](const QJsonObject &changes,
                                                           const QVariantMap &information) {
            return intercept(ScriptHooks::InterceptStateUpdate, identifier, changes, information);
        });
    }
    // Without an append interceptor the server shows appends to interceptStateUpdate
    // the way an original client would have sent them, so a script written for the
    // original sees them too; rules alone need their own append check.
    if (appendHook || (rules && !updateHook)) {
        options.setInterceptStateAppend([this, identifier](const QJsonObject &changes,
                                                           const QVariantMap &information) {
            return intercept(ScriptHooks::InterceptStateAppend, identifier, changes, information);
        });
    }
    return options;
}

bool StateSyncDaemon::mayJoin(const QString &stateIdentifier, const QVariantMap &clientInformation)
{
    QString decidedBy;
    if (!m_config.access.allows(AccessRules::Action::Join, stateIdentifier, clientInformation,
                                &decidedBy)) {
        qCInfo(lcDaemon).noquote() << "joining" << stateIdentifier << "refused by" << decidedBy;
        return false;
    }
    if (m_hooks && m_hooks->has(ScriptHooks::AllowConnectingClient))
        return m_hooks->allowConnectingClient(clientInformation, stateIdentifier);
    return true;
}

std::optional<QJsonObject> StateSyncDaemon::intercept(ScriptHooks::Hook hook,
                                                      const QString &stateIdentifier,
                                                      const QJsonObject &changes,
                                                      const QVariantMap &clientInformation)
{
    QString decidedBy;
    if (!m_config.access.allows(AccessRules::Action::Write, stateIdentifier, clientInformation,
                                &decidedBy)) {
        qCInfo(lcDaemon).noquote() << "writing" << stateIdentifier << "refused by" << decidedBy;
        return std::nullopt;
    }
    if (m_hooks && m_hooks->has(hook))
        return m_hooks->intercept(hook, changes, clientInformation, stateIdentifier);
    return changes;
}

bool StateSyncDaemon::listen(QString *error)
{
    if (m_syncer->listen(m_config.host, m_config.port))
        return true;
    *error = QStringLiteral("cannot listen on %1 %2: %3")
                     .arg(m_config.host.toString())
                     .arg(m_config.port)
                     .arg(m_syncer->errorString());
    return false;
}

QUrl StateSyncDaemon::url() const
{
    QUrl url;
    url.setScheme(m_syncer->isSecure() ? QStringLiteral("wss") : QStringLiteral("ws"));
    url.setHost(m_syncer->serverAddress().toString());
    url.setPort(m_syncer->serverPort());
    return url;
}

QStringList StateSyncDaemon::stateIdentifiers() const
{
    QStringList identifiers;
    for (const StateConfig &state : std::as_const(m_config.states))
        identifiers.append(state.identifier);
    return identifiers;
}

void StateSyncDaemon::shutDown(int signalNumber)
{
    if (m_stopping) {
        qCInfo(lcDaemon) << "signal" << signalNumber << "received again, stopping now";
        finishShutdown();
        return;
    }
    m_stopping = true;
    qCInfo(lcDaemon) << "signal" << signalNumber << "received, closing" << m_syncer->clientCount()
                     << "connections";
    connect(m_syncer.get(), &QStateSyncer::clientCountChanged, this, [this] {
        if (m_syncer->clientCount() == 0)
            finishShutdown();
    });
    // Peers that never answer the close handshake must not keep the process alive.
    QTimer::singleShot(m_config.shutdownTimeoutMs, this, [this] {
        if (m_stopped)
            return;
        qCWarning(lcDaemon) << m_syncer->clientCount() << "connections did not close within"
                            << m_config.shutdownTimeoutMs << "ms";
        finishShutdown();
    });
    m_syncer->close();
    if (m_syncer->clientCount() == 0)
        finishShutdown();
}

void StateSyncDaemon::finishShutdown()
{
    if (m_stopped)
        return;
    m_stopped = true;
    Q_EMIT stopped();
}
