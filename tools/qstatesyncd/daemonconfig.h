// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef DAEMONCONFIG_H
#define DAEMONCONFIG_H

#include "accessrules.h"

#include <QStateSyncNamespace>

#include <QtCore/qjsonobject.h>
#include <QtCore/qstringlist.h>
#include <QtNetwork/qhostaddress.h>

#include <chrono>
#include <optional>

// The environment variable that may hold the JWT secret, so that it appears neither on
// a command line (visible to every user in ps) nor in the configuration file.
inline constexpr char JwtSecretVariable[] = "QSTATESYNC_JWT_SECRET";

struct StateConfig
{
    QString identifier;
    QJsonObject initialValue;
    std::chrono::milliseconds ttl{0};
    bool selfDestructWhenEmpty = false;
    QStateSync::MergeMode mergeMode = QStateSync::MergeMode::Deep;
};

// Everything qstatesyncd is told, by its configuration file and its command line (which
// wins). Zero limits mean the library's defaults.
struct DaemonConfig
{
    QHostAddress host = QHostAddress(QHostAddress::Any);
    quint16 port = 5000;

    QString certificateFile;
    QString privateKeyFile;

    qint64 maxMessageSize = 0;
    int maxNestingDepth = 0;
    int handshakeTimeoutMs = 0;
    int hookTimeoutMs = 10000;
    int shutdownTimeoutMs = 5000;
    // Limits for which 0 means "no limit": unset, the library's default holds.
    std::optional<int> heartbeatIntervalMs;
    std::optional<qint64> maxStateSize;
    std::optional<int> maxClientsPerState;
    std::optional<int> maxClients;
    std::optional<double> updateRate;
    std::optional<int> updateBurst;
    std::optional<int> maxPendingHandshakes;
    std::optional<qint64> maxPendingOutput;
    bool revealStateExistence = false;
    std::optional<int> ioThreads;
    std::optional<int> stateThreads;

    // Where the states are kept: SQLite in the data directory by default; Redis shares
    // them with the other nodes of a cluster.
    enum class Storage { Memory, Sqlite, Redis };
    Storage storage = Storage::Sqlite;
    QString dataDirectory; // empty: the user's application data folder for qstatesyncd
    bool durable = false; // SQLite: every acknowledged change is on disk first
    int commitIntervalMs = 100; // SQLite, batched: the most a change waits to be written
    QString redisHost = QStringLiteral("127.0.0.1");
    int redisPort = 6379;
    QString redisKeyPrefix = QStringLiteral("qstatesync:");
    QString nodeIdentifier; // Redis: this node's name; empty: a new UUID

    // Set when the file has an "auth.jwt" section: JWTs are expected even if the secret
    // is still to come from the command line or the environment.
    bool jwtConfigured = false;
    QString jwtSecretFile;
    // Filled from --jwt-secret-file, the environment or jwtSecretFile; never logged.
    QByteArray jwtSecret;
    std::optional<bool> requireToken;
    std::chrono::seconds jwtLeeway{30};
    bool jwtRequireExpiry = false;
    QString jwtIssuer;
    QStringList jwtAudiences;

    QList<StateConfig> states;
    AccessRules access;
    QString hooksFile;

    bool healthzEnabled = true;
    bool metricsEnabled = true;
};

// Reads and validates a configuration file. Relative file names in it are taken
// relative to the file's folder, so a configuration and its files can move together.
// Returns std::nullopt and a message naming the file and the key on any mistake.
std::optional<DaemonConfig> loadConfigFile(const QString &fileName, QString *error);

// Reads a secret from a file: the whole content less one trailing line break (files
// written with echo have one). Warns when other users may read the file.
std::optional<QByteArray> readSecretFile(const QString &fileName, QString *error);

#endif // DAEMONCONFIG_H
