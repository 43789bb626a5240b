// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCREDISSTORAGE_P_H
#define QSTATESYNCREDISSTORAGE_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncredisconnection_p.h"
#include "qstatesyncredisstorage.h"
#include "qstatesyncsharedstorage_p.h"
#include "qstatesyncstorage_p.h"

#include <QtCore/qpointer.h>
#include <QtCore/qset.h>
#include <QtCore/qtimer.h>

namespace QStateSyncRedis {
// How long a blocking command (creating, removing a state, counting clients) may take.
inline constexpr int BlockingTimeout = 1000;
// A node that has not renewed its mark for this long counts as gone; a renewal not
// answered by the next one means Redis stalled.
inline constexpr int LivenessTime = 10000;
inline constexpr int LivenessRenewal = 3000;
// Reconnecting, and reading a state again after a failed read, wait this long at first,
// twice as long after each failure, up to the most.
inline constexpr int FirstRetryDelay = 100;
inline constexpr int MostRetryDelay = 2000;
inline constexpr int FirstReconnectDelay = FirstRetryDelay;
inline constexpr int MostReconnectDelay = MostRetryDelay;

inline QByteArray number(qint64 value)
{
    return QByteArray::number(value);
}
// meta: {version, mode, created, ttl[, token]}; values: {key, JSON, ...} or null.
bool readState(const QString &identifier, const QStateSyncRedisReply &meta,
               const QStateSyncRedisReply *values, QStateSyncStoredState *state,
               quint64 *token = nullptr);
} // namespace QStateSyncRedis

// Where a cluster keeps its states in Redis, under keyPrefix:
//   states               a set of the state identifiers
//   state:<id>           a hash: version, mode, created, ttl, and token:<node>, the last
//                        batch of each node applied
//   value:<id>           a hash: each top-level key of the value, as compact JSON
//   clients:<id>         a hash: how many clients each node has on the state
//   node:<node>          a node that is alive (expires unless renewed)
// and publishes on
//   changes:<id>         every batch of changes applied to the state
//   events               states created and removed
class QStateSyncRedisStoragePrivate : public QStateSyncStoragePrivate,
                                      public QStateSyncSharedStorage
{
public:
    QStateSyncRedisStoragePrivate();
    ~QStateSyncRedisStoragePrivate() override;

    // QStateSyncStoragePrivate
    bool open(QList<QStateSyncStoredState> *states) override;
    // Nothing is ever held back: everything counts as stored.
    quint64 close() override;
    bool holdsChanges() const override { return false; }
    quint64 saveState(const QStateSyncStoredState &) override { return 0; }
    quint64 removeState(const QString &) override { return 0; }
    quint64 saveChange(const QString &, qint64, QStateSyncUpdateRequest::Kind,
                       const QJsonObject &) override
    {
        return 0;
    }
    quint64 saveSnapshot(const QString &, const QJsonObject &, qint64) override { return 0; }
    QStateSyncSharedStorage *shared() override { return this; }

    // QStateSyncSharedStorage
    QString nodeIdentifier() const override { return node; }
    CreateResult createState(const QStateSyncStoredState &state,
                             QStateSyncStoredState *existing) override;
    RemoveResult removeState(const QString &identifier, QStateSync::RemovalReason reason,
                             qint64 dueAt) override;
    bool readState(const QString &identifier, QStateSyncStoredState *state) override;
    void follow(const QString &identifier) override;
    void unfollow(const QString &identifier) override;
    void resync(const QString &identifier) override;
    quint64 submit(const QStateSyncSharedBatch &batch) override;
    int countClients(const QString &identifier, int ownCount) override;

    QByteArray key(const char *kind, const QString &identifier = QString()) const;
    void connectToRedis();
    void connectionLost(const QString &error);
    void bothConnected();
    void subscribedTo(const QByteArray &channel);
    void dropConnections();
    // Reads the state again after a failed read, with a growing delay.
    void retryFetch(const QString &identifier);
    void received(const QByteArray &channel, const QByteArray &message);
    void fetch(const QString &identifier);
    void listStates();
    void renewLiveness();
    void setConnected(bool connected);
    QStateSyncRedisStorage *publicObject() const;

    QString hostName = QStringLiteral("127.0.0.1");
    int port = 6379;
    QString keyPrefix = QStringLiteral("qstatesync:");
    QString node;
    bool connected = false;
    bool opened = false;

    QPointer<QStateSyncRedisConnection> commands;
    QPointer<QStateSyncRedisConnection> subscriber;
    QStateSyncRedisBlockingConnection blocking;
    QSet<QString> followed;
    QTimer *reconnectTimer = nullptr;
    QTimer *livenessTimer = nullptr;
    int reconnectDelay = 0;
    QString lastError;
    bool livenessAnswered = true;
    // The subscriber asked for the events and every followed state's changes.
    bool subscriptionsSent = false;
    quint64 nextToken = 0;
    // The fence of the last read asked for each followed state: the answer of an earlier
    // read is stale. And how many reads of it failed in a row.
    QHash<QString, quint64> fetchFences;
    QHash<QString, int> fetchFailures;
    bool listFailed = false;
};

#endif // QSTATESYNCREDISSTORAGE_P_H
