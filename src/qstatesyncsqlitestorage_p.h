// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSQLITESTORAGE_P_H
#define QSTATESYNCSQLITESTORAGE_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncfilelock_p.h"
#include "qstatesyncsqlitestorage.h"
#include "qstatesyncstorage_p.h"

#include <QtCore/qpointer.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

class QSqlDatabase;

// The storage's side runs on the server's thread (qstatesyncsqlitestorage.cpp); the
// worker thread owns the database connection (the SQL is in qstatesyncsqlitedatabase.cpp).
class QStateSyncSqliteStoragePrivate : public QStateSyncStoragePrivate
{
public:
    struct Write
    {
        enum Type { SaveState, RemoveState, Change, Snapshot };
        Type type = Change;
        quint64 sequence = 0;
        QString identifier;
        qint64 version = 0;
        int kind = 0;
        QJsonObject value; // the changes, the snapshot, or the saved state's value
        int mergeMode = 0;
        qint64 createdAt = 0;
        qint64 ttlDeadline = 0;
    };

    bool open(QList<QStateSyncStoredState> *states) override;
    quint64 close() override;
    bool holdsChanges() const override
    {
        return durability == QStateSyncSqliteStorage::Durability::Durable;
    }
    bool acceptsChanges(QString *reason) const override;
    quint64 saveState(const QStateSyncStoredState &state) override;
    quint64 removeState(const QString &identifier) override;
    quint64 saveChange(const QString &identifier, qint64 version,
                       QStateSyncUpdateRequest::Kind kind, const QJsonObject &changes) override;
    quint64 saveSnapshot(const QString &identifier, const QJsonObject &value,
                         qint64 version) override;

    quint64 enqueue(Write write);
    // On the storage's own thread.
    void run(std::promise<bool> opened, QList<QStateSyncStoredState> *states);
    bool openDatabase(QSqlDatabase &database, QString *error);
    bool load(QSqlDatabase &database, QList<QStateSyncStoredState> *states, QString *error);
    bool writeBatch(QSqlDatabase &database, const std::deque<Write> &batch, QString *error);
    // Writes a batch, trying again every RetryDelay until it is stored or, once the
    // storage stops, until it gave up after a few tries. False: given up.
    bool writeUntilStored(QSqlDatabase &database, const std::deque<Write> &batch);
    // Runs f on the server's thread, unless the storage is gone or was opened again since.
    template<typename F>
    void post(F f);
    void postError(const QString &message, bool log);
    void postCommitted(quint64 sequence);

    QString fileName;
    QStateSyncSqliteStorage::Durability durability = QStateSyncSqliteStorage::Durability::Batched;
    std::atomic<int> commitInterval{100};
    std::atomic<int> maxPendingWrites{100000};

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Write> pending; // guarded by mutex
    std::chrono::steady_clock::time_point firstPending; // guarded by mutex
    bool stopping = false; // guarded by mutex
    quint64 lastCommitted = 0; // guarded by mutex
    // Writes given to the storage and neither stored nor given up yet.
    std::atomic<qint64> waiting{0};
    quint64 nextSequence = 1; // server thread only
    // Counts the opens, so that what a former attachment posted is not taken for news.
    quint64 generation = 0; // server thread only
    QPointer<QObject> postTarget; // set before the worker starts
    std::thread worker;
    QString openError;
    // Held while attached: one process, one storage per file.
    std::unique_ptr<QStateSyncFileLock> fileLock;
};

#endif // QSTATESYNCSQLITESTORAGE_P_H
