// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncsqlitestorage.h"

#include "qstatesynclogging_p.h"
#include "qstatesyncsqlitestorage_p.h"

#include <QtCore/qatomic.h>
#include <QtCore/qdir.h>
#include <QtCore/qfileinfo.h>
#include <QtSql/qsqldatabase.h>

using namespace std::chrono_literals;

namespace {

// A batch this long is written at once, without waiting out the commit interval.
constexpr size_t LargeBatch = 20000;
constexpr auto RetryDelay = 1s;
// While writes fail, the error is logged when they start failing, and then at most once
// in this long (each try still emits errorOccurred).
constexpr auto FailureLogInterval = 10s;

} // namespace

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
    those stored. A state that was not created again keeps its value, merge mode and ttl,
    but is closed to clients: a join is answered \c state_not_found until createState()
    takes it over (see QStateSyncer::setStorage()).

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
        about one disk flush. Only changes are held: a state created or removed is shown
        at once and stored with the writes around it.
    \endlist

    \section1 When the disk fails

    A write that fails (a full or read-only disk) is tried again every second until it is
    stored, and nothing applied is dropped while the process lives. The first failure is
    logged (category \c qstatesync.storage), later ones at most once every ten seconds
    with a count; errorOccurred() is emitted at each try. While more than
    maxPendingWrites writes wait, the server refuses new changes with
    QStateSync::Error::StorageFailed. A storage that is detached or destroyed while the
    disk still fails gives up after three tries: in Durable mode the changes it could not
    store are refused to their senders (\c storage_failed) and taken back from the states.

    \section1 The lock file

    While attached, the storage holds an operating system lock (\c flock) on the file
    named after fileName with \c .lock appended, so that one process (and one storage) at a
    time uses the file. The lock ends with the process however it ends: a restarted
    process finds its file free, even when it has the same process id as the one before
    (as the first process of a container does).

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
    \property QStateSyncSqliteStorage::maxPendingWrites
    \brief the most writes that may wait to be stored before the server refuses changes.

    Writes wait while the disk fails or is slower than the changes. Past this many, the
    server refuses each new change (from a client or from the application) with
    QStateSync::Error::StorageFailed and logs it, instead of holding more in memory; it
    accepts changes again once the writes are stored. States created and removed are never
    refused. The default is 100,000; 0 means no limit. It may change at any time.
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
    d_func()->closeAndReport();
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
    {
        // Under the lock: the worker cannot be between reading the interval and waiting.
        std::lock_guard lock(d->mutex);
        if (d->commitInterval.exchange(milliseconds) == milliseconds)
            return;
        d->wake.notify_one();
    }
    Q_EMIT commitIntervalChanged();
}

int QStateSyncSqliteStorage::maxPendingWrites() const
{
    return d_func()->maxPendingWrites.load();
}

void QStateSyncSqliteStorage::setMaxPendingWrites(int writes)
{
    writes = std::max(writes, 0);
    if (d_func()->maxPendingWrites.exchange(writes) == writes)
        return;
    Q_EMIT maxPendingWritesChanged();
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
    fileLock = std::make_unique<QStateSyncFileLock>(fileName + QStringLiteral(".lock"));
    qint64 holder = 0;
    QString lockError;
    if (!fileLock->tryLock(&holder, &lockError)) {
        fileLock.reset();
        if (lockError.isEmpty()) {
            lockError = holder > 0
                    ? QStringLiteral("%1 is in use by process %2").arg(fileName).arg(holder)
                    : QStringLiteral("%1 is in use by another process").arg(fileName);
        }
        reportError(lockError);
        return false;
    }
    {
        std::lock_guard lock(mutex);
        stopping = false;
        pending.clear();
    }
    waiting = 0;
    ++generation;
    postTarget = context ? context.data() : q;
    std::promise<bool> opened;
    std::future<bool> result = opened.get_future();
    worker = std::thread([this, promise = std::move(opened), states]() mutable {
        run(std::move(promise), states);
    });
    if (!result.get()) {
        worker.join();
        fileLock.reset();
        reportError(openError);
        return false;
    }
    qCInfo(lcStateSyncStorage).noquote()
            << "SQLite storage" << QDir::toNativeSeparators(fileName) << "opened with"
            << states->size() << "states," << (holdsChanges() ? "durable" : "batched") << "writes";
    return true;
}

quint64 QStateSyncSqliteStoragePrivate::close()
{
    if (worker.joinable()) {
        {
            std::lock_guard lock(mutex);
            stopping = true;
            wake.notify_one();
        }
        worker.join();
        fileLock.reset();
    }
    std::lock_guard lock(mutex);
    return lastCommitted;
}

bool QStateSyncSqliteStoragePrivate::acceptsChanges(QString *reason) const
{
    const int limit = maxPendingWrites.load(std::memory_order_relaxed);
    const qint64 count = waiting.load(std::memory_order_relaxed);
    if (limit <= 0 || count < limit)
        return true;
    *reason = QStringLiteral("%1 writes wait to be stored in %2, as many as the storage allows")
                      .arg(count)
                      .arg(fileName);
    return false;
}

quint64 QStateSyncSqliteStoragePrivate::enqueue(Write write)
{
    write.sequence = nextSequence++;
    const quint64 sequence = write.sequence;
    waiting.fetch_add(1, std::memory_order_relaxed);
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

template<typename F>
void QStateSyncSqliteStoragePrivate::post(F f)
{
    // The server's thread, which is not the storage's once the server moved: the storage
    // may be gone by the time it runs.
    const QPointer<QStateSyncStorage> storage(q);
    QMetaObject::invokeMethod(
            postTarget,
            [this, storage, opened = generation, f = std::move(f)] {
                if (storage && generation == opened)
                    f();
            },
            Qt::QueuedConnection);
}

void QStateSyncSqliteStoragePrivate::postError(const QString &message, bool log)
{
    post([this, message, log] { reportError(message, log); });
}

void QStateSyncSqliteStoragePrivate::postCommitted(quint64 sequence)
{
    post([this, sequence] {
        // A copy: the callback may detach the storage, which clears it.
        if (const auto callback = committed)
            callback(sequence);
    });
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

            if (writeUntilStored(database, batch))
                continue;
            // Given up on a stop: what came after the lost writes is not written either,
            // or a restart would replay changes on top of a gap.
            lock.lock();
            const size_t dropped = pending.size();
            pending.clear();
            lock.unlock();
            waiting.fetch_sub(qint64(dropped));
            qCCritical(lcStateSyncStorage).noquote()
                    << "gave up writing" << batch.size() + dropped << "writes to" << fileName;
            break;
        }
        database.close();
    }
    QSqlDatabase::removeDatabase(connectionName);
}

bool QStateSyncSqliteStoragePrivate::writeUntilStored(QSqlDatabase &database,
                                                      const std::deque<Write> &batch)
{
    // A write that fails is tried again, the batch kept whole, until it is stored: nothing
    // applied is dropped while the process lives. A stop gives up after a few tries.
    auto lastLogged = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
        QString writeError;
        if (writeBatch(database, batch, &writeError)) {
            {
                std::lock_guard lock(mutex);
                lastCommitted = batch.back().sequence;
            }
            waiting.fetch_sub(qint64(batch.size()));
            if (attempt > 1) {
                qCInfo(lcStateSyncStorage).noquote().nospace()
                        << "writing to " << fileName << " again, after " << attempt - 1
                        << " failed tries";
                post([this] { setErrorString(QString()); });
            }
            postCommitted(batch.back().sequence);
            return true;
        }
        const auto now = std::chrono::steady_clock::now();
        const bool log = attempt == 1 || now - lastLogged >= FailureLogInterval;
        if (log)
            lastLogged = now;
        postError(QStringLiteral("cannot write to %1: %2 (try %3, %4 writes waiting)")
                          .arg(fileName, writeError)
                          .arg(attempt)
                          .arg(waiting.load()),
                  log);
        std::unique_lock lock(mutex);
        if (stopping && attempt >= 3) {
            lock.unlock();
            waiting.fetch_sub(qint64(batch.size()));
            return false;
        }
        // Until the retry is due: new writes join the next batch without waking it.
        wake.wait_until(lock, now + RetryDelay, [this] { return stopping; });
    }
}
