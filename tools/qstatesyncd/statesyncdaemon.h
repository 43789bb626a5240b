// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef STATESYNCDAEMON_H
#define STATESYNCDAEMON_H

#include "daemonconfig.h"
#include "jwtverifier.h"
#include "scripthooks.h"

#include <QStateSyncRedisStorage>
#include <QStateSyncSqliteStorage>
#include <QStateSyncStateOptions>

#include <QtCore/qobject.h>
#include <QtCore/qurl.h>

#include <memory>
#include <optional>

class QStateSyncAuthorizationRequest;
class QStateSyncer;

// A QStateSyncer set up from a DaemonConfig: limits, TLS, token checks, access rules,
// script hooks, states, the HTTP endpoints, and a graceful shutdown.
class StateSyncDaemon : public QObject
{
    Q_OBJECT

public:
    explicit StateSyncDaemon(DaemonConfig config, QObject *parent = nullptr);
    ~StateSyncDaemon() override;

    // Applies the configuration. Returns false with *error on a mistake in it. To check a
    // configuration only, the storage is not opened: its data directory is only checked.
    enum class Mode { Serve, CheckOnly };
    bool setUp(QString *error, Mode mode = Mode::Serve);
    bool listen(QString *error);
    QUrl url() const;
    QStringList stateIdentifiers() const;

    // Stops listening and closes every client connection with close code 1001 (going
    // away); stopped() follows once they are closed, or after the shutdown timeout. A
    // second call does not wait any more.
    void shutDown(int signalNumber);

Q_SIGNALS:
    void stopped();

private:
    bool setUpTokenChecks(QString *error);
    void authorize(QStateSyncAuthorizationRequest *request);
    QStateSyncStateOptions stateOptions(const StateConfig &state);
    bool mayJoin(const QString &stateIdentifier, const QVariantMap &clientInformation);
    std::optional<QJsonObject> intercept(ScriptHooks::Hook hook, const QString &stateIdentifier,
                                         const QJsonObject &changes,
                                         const QVariantMap &clientInformation);
    void finishShutdown();
    bool setUpStorage(Mode mode, QString *error);
    // After the configuration's states are created: the stored states it does not name.
    void reportUnconfiguredStates();

    DaemonConfig m_config;
    std::unique_ptr<ScriptHooks> m_hooks;
    std::optional<JwtVerifier> m_jwt;
    bool m_requireToken = false;
    quint64 m_connectionsRefused = 0;
    bool m_stopping = false;
    bool m_stopped = false;
    // Outlives the server, which stores everything in it before it goes.
    std::unique_ptr<QStateSyncStorage> m_storage;
    // Declared last so that it is destroyed first: its states call back into the hooks
    // and rules above.
    std::unique_ptr<QStateSyncer> m_syncer;
};

#endif // STATESYNCDAEMON_H
