// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncsqlitestorage.h"

#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncstorage_p.h"

#include <QtCore/qatomic.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qdir.h>
#include <QtCore/qfileinfo.h>
#include <QtCore/qjsondocument.h>
#include <QtCore/qlockfile.h>
#include <QtCore/qpointer.h>
#include <QtSql/qsqldatabase.h>
#include <QtSql/qsqlerror.h>
#include <QtSql/qsqlquery.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;

namespace {

// Raised when the tables change shape; a file from a newer version is not opened.
constexpr int SchemaVersion = 1;
// A batch this long is written at once, without waiting out the commit interval.
constexpr size_t LargeBatch = 20000;
constexpr auto RetryDelay = 1s;

QByteArray compact(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

QString describe(const QSqlError &error)
{
    return error.text().isEmpty() ? QStringLiteral("unknown error") : error.text();
}

} // namespace

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
    void close() override;
    bool holdsChanges() const override
    {
        return durability == QStateSyncSqliteStorage::Durability::Durable;
    }
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
    void postError(const QString &message);
    void postRecovered();
    void postCommitted(quint64 sequence);

    QString fileName;
    QStateSyncSqliteStorage::Durability durability = QStateSyncSqliteStorage::Durability::Batched;
    std::atomic<int> commitInterval{100};

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Write> pending; // guarded by mutex
    std::chrono::steady_clock::time_point firstPending; // guarded by mutex
    bool stopping = false; // guarded by mutex
    quint64 nextSequence = 1; // server thread only
    std::thread worker;
    QString openError;
    // Held while attached: one process, one storage per file.
    std::unique_ptr<QLockFile> lockFile;
};

/*!
    \class QStateSyncSqliteStorage
    \inmodule QStateSync
    \brief Keeps a QStateSyncer's states in an SQLite file.

    The storage writes with Qt SQL's \c QSQLITE driver, in WAL mode, on a thread of its
    own. Give it to a server before the server creates any state:

    \snippet snippets/server.cpp sqlite

    On the next start, the states come back with their values, versions and ttl deadlines
    as soon as the storage is set: QStateSyncer::stateCreated() is emitted for each. Hooks,
    join filters and interceptors are code, not data: call QStateSyncer::createState() again
    with the same identifier and its options take effect, while the value and version stay
    those stored. A state that was not created again keeps its merge mode and ttl, without
    hooks.

    \section1 Durability

    \list
    \li \l {QStateSyncSqliteStorage::Durability}{Batched} (the default): changes are
        shown to clients at once and written together at most commitInterval milliseconds
        later (100 by default). If the process is killed, the last interval's changes can be
        lost; what comes back is always the state as it was at some version, never a mix.
        A clean stop (the server or the storage destroyed) writes everything first.
    \li \l {QStateSyncSqliteStorage::Durability}{Durable}: no change is shown to anyone
        (the sender's acknowledgement, the broadcast, QStateSyncer::stateUpdated(), a
        joining client's snapshot) before it is on disk, with SQLite's \c synchronous set
        to \c FULL. Changes that arrive while a write waits for the disk are written
        together in the next one, so the throughput stays high; each change waits for
        about one disk flush.
    \endlist

    \sa QStateSyncStorage, QStateSyncer::setStorage()
*/

/*!
    \enum QStateSyncSqliteStorage::Durability

    When an applied change is written to the file.

    \value Batched  Changes are written in batches, at most commitInterval milliseconds
                    after they were applied; clients see them at once.
    \value Durable  A change is shown to nobody before it is on disk.
*/

/*!
    \property QStateSyncSqliteStorage::fileName
    \brief the SQLite file the states are kept in.

    The file and its directory are created when the storage is attached. It can only
    change while no server uses the storage.
*/

/*!
    \property QStateSyncSqliteStorage::durability
    \brief when applied changes are written: Batched (the default) or Durable.

    It can only change while no server uses the storage.
*/

/*!
    \property QStateSyncSqliteStorage::commitInterval
    \brief in Batched mode, the most milliseconds a change waits before it is written.

    The default is 100. A batch of 20,000 writes is written at once. It may change at any
    time; 0 writes every turn of the storage's thread.
*/

/*!
    Constructs a storage with \a parent, which needs a fileName before it is attached.
*/
QStateSyncSqliteStorage::QStateSyncSqliteStorage(QObject *parent)
    : QStateSyncStorage(std::make_unique<QStateSyncSqliteStoragePrivate>(), parent)
{ }

/*!
    Constructs a storage with \a parent that keeps its states in \a fileName.
*/
QStateSyncSqliteStorage::QStateSyncSqliteStorage(const QString &fileName, QObject *parent)
    : QStateSyncSqliteStorage(parent)
{
    d_func()->fileName = fileName;
}

/*!
    Destroys the storage after writing everything it was given.
*/
QStateSyncSqliteStorage::~QStateSyncSqliteStorage()
{
    d_func()->close();
}

QStateSyncSqliteStoragePrivate *QStateSyncSqliteStorage::d_func() const
{
    return static_cast<QStateSyncSqliteStoragePrivate *>(d_ptr.get());
}

QString QStateSyncSqliteStorage::fileName() const
{
    return d_func()->fileName;
}

void QStateSyncSqliteStorage::setFileName(const QString &fileName)
{
    auto *d = d_func();
    if (d->fileName == fileName)
        return;
    if (d->attached) {
        qCWarning(lcStateSyncStorage, "the file of an attached storage cannot change");
        return;
    }
    d->fileName = fileName;
    Q_EMIT fileNameChanged();
}

QStateSyncSqliteStorage::Durability QStateSyncSqliteStorage::durability() const
{
    return d_func()->durability;
}

void QStateSyncSqliteStorage::setDurability(Durability durability)
{
    auto *d = d_func();
    if (d->durability == durability)
        return;
    if (d->attached) {
        qCWarning(lcStateSyncStorage, "the durability of an attached storage cannot change");
        return;
    }
    d->durability = durability;
    Q_EMIT durabilityChanged();
}

int QStateSyncSqliteStorage::commitInterval() const
{
    return d_func()->commitInterval.load();
}

void QStateSyncSqliteStorage::setCommitInterval(int milliseconds)
{
    milliseconds = std::max(milliseconds, 0);
    auto *d = d_func();
    if (d->commitInterval.exchange(milliseconds) == milliseconds)
        return;
    d->wake.notify_one();
    Q_EMIT commitIntervalChanged();
}

bool QStateSyncSqliteStoragePrivate::open(QList<QStateSyncStoredState> *states)
{
    if (worker.joinable())
        close();
    if (fileName.isEmpty()) {
        reportError(QStringLiteral("the SQLite storage has no file name"));
        return false;
    }
    const QFileInfo info(fileName);
    if (!QDir().mkpath(info.absolutePath())) {
        reportError(QStringLiteral("cannot create the directory %1").arg(info.absolutePath()));
        return false;
    }
    lockFile = std::make_unique<QLockFile>(fileName + QStringLiteral(".lock"));
    // Never taken from a running owner, however old; a dead owner's lock is taken over.
    lockFile->setStaleLockTime(0);
    if (!lockFile->tryLock(0)) {
        qint64 pid = 0;
        QString host, application;
        lockFile->getLockInfo(&pid, &host, &application);
        lockFile.reset();
        reportError(pid > 0 ? QStringLiteral("%1 is in use by process %2 (%3)")
                                      .arg(fileName)
                                      .arg(pid)
                                      .arg(application)
                            : QStringLiteral("cannot lock %1").arg(fileName));
        return false;
    }
    {
        std::lock_guard lock(mutex);
        stopping = false;
        pending.clear();
    }
    std::promise<bool> opened;
    std::future<bool> result = opened.get_future();
    worker = std::thread([this, promise = std::move(opened), states]() mutable {
        run(std::move(promise), states);
    });
    if (!result.get()) {
        worker.join();
        lockFile.reset();
        reportError(openError);
        return false;
    }
    qCInfo(lcStateSyncStorage).noquote()
            << "SQLite storage" << QDir::toNativeSeparators(fileName) << "opened with"
            << states->size() << "states," << (holdsChanges() ? "durable" : "batched") << "writes";
    return true;
}

void QStateSyncSqliteStoragePrivate::close()
{
    if (!worker.joinable())
        return;
    {
        std::lock_guard lock(mutex);
        stopping = true;
    }
    wake.notify_one();
    worker.join();
    lockFile.reset();
}

quint64 QStateSyncSqliteStoragePrivate::enqueue(Write write)
{
    write.sequence = nextSequence++;
    const quint64 sequence = write.sequence;
    bool notify;
    {
        std::lock_guard lock(mutex);
        const bool first = pending.empty();
        if (first)
            firstPending = std::chrono::steady_clock::now();
        pending.push_back(std::move(write));
        notify = first || holdsChanges() || pending.size() == LargeBatch;
    }
    if (notify)
        wake.notify_one();
    return sequence;
}

quint64 QStateSyncSqliteStoragePrivate::saveState(const QStateSyncStoredState &state)
{
    Write write;
    write.type = Write::SaveState;
    write.identifier = state.identifier;
    write.version = state.version;
    write.value = state.value;
    write.mergeMode = int(state.mergeMode);
    write.createdAt = state.createdAt;
    write.ttlDeadline = state.ttlDeadline;
    return enqueue(std::move(write));
}

quint64 QStateSyncSqliteStoragePrivate::removeState(const QString &identifier)
{
    Write write;
    write.type = Write::RemoveState;
    write.identifier = identifier;
    return enqueue(std::move(write));
}

quint64 QStateSyncSqliteStoragePrivate::saveChange(const QString &identifier, qint64 version,
                                                   QStateSyncUpdateRequest::Kind kind,
                                                   const QJsonObject &changes)
{
    Write write;
    write.type = Write::Change;
    write.identifier = identifier;
    write.version = version;
    write.kind = int(kind);
    write.value = changes;
    return enqueue(std::move(write));
}

quint64 QStateSyncSqliteStoragePrivate::saveSnapshot(const QString &identifier,
                                                     const QJsonObject &value, qint64 version)
{
    Write write;
    write.type = Write::Snapshot;
    write.identifier = identifier;
    write.version = version;
    write.value = value;
    return enqueue(std::move(write));
}

void QStateSyncSqliteStoragePrivate::postError(const QString &message)
{
    QMetaObject::invokeMethod(
            q, [this, message] { reportError(message); }, Qt::QueuedConnection);
}

void QStateSyncSqliteStoragePrivate::postRecovered()
{
    QMetaObject::invokeMethod(
            q,
            [this] {
                errorString.clear();
                qCInfo(lcStateSyncStorage).noquote() << "writing to" << fileName << "again";
            },
            Qt::QueuedConnection);
}

void QStateSyncSqliteStoragePrivate::postCommitted(quint64 sequence)
{
    QMetaObject::invokeMethod(
            q,
            [this, sequence] {
                if (committed)
                    committed(sequence);
            },
            Qt::QueuedConnection);
}

void QStateSyncSqliteStoragePrivate::run(std::promise<bool> opened,
                                         QList<QStateSyncStoredState> *states)
{
    static QAtomicInteger<quint64> connections;
    const QString connectionName
            = QStringLiteral("qstatesync-storage-%1").arg(connections.fetchAndAddRelaxed(1));
    {
        QSqlDatabase database
                = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connectionName);
        QString error;
        if (!openDatabase(database, &error) || !load(database, states, &error)) {
            openError = error;
            database.close();
            database = QSqlDatabase();
            QSqlDatabase::removeDatabase(connectionName);
            opened.set_value(false);
            return;
        }
        opened.set_value(true);

        for (;;) {
            std::unique_lock lock(mutex);
            wake.wait(lock, [this] { return stopping || !pending.empty(); });
            if (pending.empty())
                break; // stopping, and nothing left
            // Batched: wait out the commit interval from the first write of the batch,
            // unless the batch grows large or the storage stops.
            while (!stopping && !holdsChanges() && pending.size() < LargeBatch) {
                const auto deadline
                        = firstPending + std::chrono::milliseconds(commitInterval.load());
                if (std::chrono::steady_clock::now() >= deadline)
                    break;
                wake.wait_until(lock, deadline);
            }
            std::deque<Write> batch;
            batch.swap(pending);
            lock.unlock();

            // A write that fails is tried again, the batch kept whole, until it is stored:
            // nothing applied is dropped while the process lives. A stop gives up after a
            // few tries, and says so.
            for (int attempt = 1;; ++attempt) {
                QString writeError;
                if (writeBatch(database, batch, &writeError)) {
                    if (attempt > 1)
                        postRecovered();
                    postCommitted(batch.back().sequence);
                    break;
                }
                postError(QStringLiteral("cannot write to %1: %2 (try %3)")
                                  .arg(fileName, writeError)
                                  .arg(attempt));
                lock.lock();
                if (stopping && attempt >= 3) {
                    lock.unlock();
                    qCCritical(lcStateSyncStorage).noquote()
                            << "gave up writing" << batch.size() << "changes to" << fileName;
                    break;
                }
                wake.wait_for(lock, RetryDelay);
                lock.unlock();
            }
        }
        database.close();
    }
    QSqlDatabase::removeDatabase(connectionName);
}

bool QStateSyncSqliteStoragePrivate::openDatabase(QSqlDatabase &database, QString *error)
{
    const QFileInfo info(fileName);
    if (!QDir().mkpath(info.absolutePath())) {
        *error = QStringLiteral("cannot create the directory %1").arg(info.absolutePath());
        return false;
    }
    database.setDatabaseName(fileName);
    if (!database.open()) {
        *error = QStringLiteral("cannot open %1: %2").arg(fileName, describe(database.lastError()));
        return false;
    }
    QSqlQuery query(database);
    const auto run = [&](const QString &statement) {
        if (query.exec(statement))
            return true;
        *error = QStringLiteral("%1: %2").arg(fileName, describe(query.lastError()));
        return false;
    };
    if (!run(QStringLiteral("PRAGMA user_version")) || !query.next()) {
        if (error->isEmpty())
            *error = QStringLiteral("%1 is not an SQLite database").arg(fileName);
        return false;
    }
    const int version = query.value(0).toInt();
    if (version > SchemaVersion) {
        *error = QStringLiteral("%1 was written by a newer QStateSync (schema %2)")
                         .arg(fileName)
                         .arg(version);
        return false;
    }
    const QString synchronous = holdsChanges() ? QStringLiteral("FULL") : QStringLiteral("NORMAL");
    return run(QStringLiteral("PRAGMA journal_mode=WAL"))
            && run(QStringLiteral("PRAGMA synchronous=") + synchronous)
            && run(QStringLiteral("PRAGMA busy_timeout=5000"))
            && run(QStringLiteral("CREATE TABLE IF NOT EXISTS states ("
                                  "identifier TEXT PRIMARY KEY, merge_mode INTEGER NOT NULL, "
                                  "created_at INTEGER NOT NULL, ttl_deadline INTEGER NOT NULL, "
                                  "snapshot BLOB NOT NULL, snapshot_version INTEGER NOT NULL)"))
            && run(QStringLiteral("CREATE TABLE IF NOT EXISTS changes ("
                                  "identifier TEXT NOT NULL, version INTEGER NOT NULL, "
                                  "kind INTEGER NOT NULL, changes BLOB NOT NULL, "
                                  "PRIMARY KEY (identifier, version)) WITHOUT ROWID"))
            && run(QStringLiteral("PRAGMA user_version=%1").arg(SchemaVersion));
}

bool QStateSyncSqliteStoragePrivate::load(QSqlDatabase &database,
                                          QList<QStateSyncStoredState> *states, QString *error)
{
    QSqlQuery query(database);
    query.setForwardOnly(true);
    if (!query.exec(QStringLiteral("SELECT identifier, merge_mode, created_at, ttl_deadline, "
                                   "snapshot, snapshot_version FROM states ORDER BY identifier"))) {
        *error = QStringLiteral("%1: %2").arg(fileName, describe(query.lastError()));
        return false;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QHash<QString, qsizetype> indexOf;
    QStringList expired;
    while (query.next()) {
        QStateSyncStoredState state;
        state.identifier = query.value(0).toString();
        state.mergeMode = query.value(1).toInt() == int(QStateSync::MergeMode::Shallow)
                ? QStateSync::MergeMode::Shallow
                : QStateSync::MergeMode::Deep;
        state.createdAt = query.value(2).toLongLong();
        state.ttlDeadline = query.value(3).toLongLong();
        QJsonParseError parseError;
        const QJsonDocument snapshot
                = QJsonDocument::fromJson(query.value(4).toByteArray(), &parseError);
        if (!snapshot.isObject()) {
            *error = QStringLiteral("%1: the stored value of %2 is damaged: %3")
                             .arg(fileName, state.identifier, parseError.errorString());
            return false;
        }
        state.value = snapshot.object();
        state.version = query.value(5).toLongLong();
        if (state.ttlDeadline > 0 && state.ttlDeadline <= now) {
            expired.append(state.identifier);
            continue;
        }
        indexOf.insert(state.identifier, states->size());
        states->append(std::move(state));
    }

    if (!query.exec(QStringLiteral("SELECT identifier, version, kind, changes FROM changes "
                                   "ORDER BY identifier, version"))) {
        *error = QStringLiteral("%1: %2").arg(fileName, describe(query.lastError()));
        return false;
    }
    QList<std::pair<QString, qint64>> orphans; // changes after a gap: never shown again
    while (query.next()) {
        const QString identifier = query.value(0).toString();
        const qint64 version = query.value(1).toLongLong();
        const auto found = indexOf.constFind(identifier);
        if (found == indexOf.constEnd())
            continue; // an expired state's
        QStateSyncStoredState &state = (*states)[*found];
        if (version <= state.version)
            continue; // already in the snapshot
        const QJsonDocument changes = QJsonDocument::fromJson(query.value(3).toByteArray());
        if (version != state.version + 1 || !changes.isObject()) {
            orphans.append({identifier, version});
            continue;
        }
        if (query.value(2).toInt() == int(QStateSyncUpdateRequest::Append))
            QStateSyncMerge::applyAppend(state.value, changes.object());
        else
            QStateSyncMerge::apply(state.value, changes.object(), state.mergeMode);
        state.version = version;
    }
    query.finish();

    QSqlQuery cleanup(database);
    for (const QString &identifier : std::as_const(expired)) {
        qCInfo(lcStateSyncStorage).noquote()
                << "state" << loggable(identifier) << "expired while the server was stopped";
        cleanup.prepare(QStringLiteral("DELETE FROM states WHERE identifier = ?"));
        cleanup.addBindValue(identifier);
        cleanup.exec();
        cleanup.prepare(QStringLiteral("DELETE FROM changes WHERE identifier = ?"));
        cleanup.addBindValue(identifier);
        cleanup.exec();
    }
    for (const auto &[identifier, version] : std::as_const(orphans)) {
        qCWarning(lcStateSyncStorage).noquote()
                << "state" << loggable(identifier) << ": change" << version
                << "does not follow the stored changes and is dropped";
        cleanup.prepare(QStringLiteral("DELETE FROM changes WHERE identifier = ? AND version = ?"));
        cleanup.addBindValue(identifier);
        cleanup.addBindValue(version);
        cleanup.exec();
    }
    return true;
}

bool QStateSyncSqliteStoragePrivate::writeBatch(QSqlDatabase &database,
                                                const std::deque<Write> &batch, QString *error)
{
    if (!database.transaction()) {
        *error = describe(database.lastError());
        return false;
    }
    QSqlQuery saveState(database), removeState(database), removeChanges(database),
            saveChange(database), saveSnapshot(database), dropChanges(database);
    const bool prepared
            = saveState.prepare(QStringLiteral(
                      "INSERT OR REPLACE INTO states (identifier, merge_mode, created_at, "
                      "ttl_deadline, snapshot, snapshot_version) VALUES (?, ?, ?, ?, ?, ?)"))
            && removeState.prepare(QStringLiteral("DELETE FROM states WHERE identifier = ?"))
            && removeChanges.prepare(QStringLiteral("DELETE FROM changes WHERE identifier = ?"))
            && saveChange.prepare(QStringLiteral("INSERT OR REPLACE INTO changes (identifier, "
                                                 "version, kind, changes) VALUES (?, ?, ?, ?)"))
            && saveSnapshot.prepare(QStringLiteral("UPDATE states SET snapshot = ?, "
                                                   "snapshot_version = ? WHERE identifier = ?"))
            && dropChanges.prepare(
                    QStringLiteral("DELETE FROM changes WHERE identifier = ? AND version <= ?"));
    QString failed;
    if (!prepared)
        failed = QStringLiteral("cannot prepare the statements");
    const auto exec = [&failed](QSqlQuery &query, const QVariantList &values) {
        if (!failed.isEmpty())
            return;
        for (qsizetype i = 0; i < values.size(); ++i)
            query.bindValue(int(i), values.at(i));
        if (!query.exec())
            failed = describe(query.lastError());
    };
    for (const Write &write : batch) {
        if (!failed.isEmpty())
            break;
        switch (write.type) {
        case Write::SaveState:
            exec(saveState,
                 {write.identifier, write.mergeMode, write.createdAt, write.ttlDeadline,
                  compact(write.value), write.version});
            exec(removeChanges, {write.identifier});
            break;
        case Write::RemoveState:
            exec(removeState, {write.identifier});
            exec(removeChanges, {write.identifier});
            break;
        case Write::Change:
            exec(saveChange, {write.identifier, write.version, write.kind, compact(write.value)});
            break;
        case Write::Snapshot:
            exec(saveSnapshot, {compact(write.value), write.version, write.identifier});
            exec(dropChanges, {write.identifier, write.version});
            break;
        }
    }
    for (QSqlQuery *query :
         {&saveState, &removeState, &removeChanges, &saveChange, &saveSnapshot, &dropChanges})
        query->finish();
    if (failed.isEmpty() && database.commit())
        return true;
    *error = failed.isEmpty() ? describe(database.lastError()) : failed;
    database.rollback();
    return false;
}
