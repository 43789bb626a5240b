// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// QStateSyncer's side of storage: attaching a storage and bringing its states back,
// storing states, changes and removals, and holding changes until they are stored when
// the storage asks for it.

#include "qstatesyncer_p.h"

#include "qstatesyncconnection_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncstorage.h"
#include "qstatesyncsharedstorage_p.h"
#include "qstatesyncstorage_p.h"

#include <QtCore/qdatetime.h>
#include <QtCore/qset.h>

namespace {
// A state's whole value is stored again after this many changes, so that a restart
// replays at most this many, and the stored changes stay short.
constexpr int ChangesPerSnapshot = 1000;
} // namespace

/*!
    \property QStateSyncer::storage
    \brief the storage that keeps the states beyond this process, or \c nullptr (the
    default) to keep them in memory only.

    \sa setStorage()
*/

/*!
    Makes the server keep its states in \a storage, for example a QStateSyncSqliteStorage;
    \c nullptr keeps them in memory only. Returns \c false, and changes nothing, when the
    server already has states (set the storage first), when \a storage serves another
    server or lives in another thread, or when it cannot be opened (its
    QStateSyncStorage::errorString() says why).

    The states the storage holds come back at once, with their values, versions and ttl
    deadlines: stateCreated() is emitted for each, and stateIdentifiers(), valueOfState()
    and the server-side changes see them. createState() with the identifier of a state
    brought back gives it the options passed (hooks, join filters, interceptors, merge
    mode) and keeps its value and version.

    A state brought back is closed to clients until createState() takes it over: a client
    that asks to join it is answered \c state_not_found, as for a state that does not
    exist. Its rules are code, which the storage cannot keep; a state served without them
    would let in whoever the application meant to keep out. A state the application no
    longer creates stays closed, and stored, until removeState() removes it (or its ttl
    ends).

    From then on every state created, every change applied and every state removed is
    stored. The server does not own \a storage, which must live in the server's thread
    when it is set, and be destroyed in the server's thread (or after it was detached);
    the storage reports what it stored to the server's thread, also after the server moved
    to another one. A storage that is replaced, or destroyed while in use, first stores
    everything it was given; a change held until it is stored (Durable mode) that it
    could not store by then is refused to its sender with QStateSync::Error::StorageFailed
    and taken back from the state.

    While the storage has more writes waiting than it allows (for example
    QStateSyncSqliteStorage::maxPendingWrites while the disk fails), new changes are
    refused with QStateSync::Error::StorageFailed.

    \sa storage(), QStateSyncStorage
*/
bool QStateSyncer::setStorage(QStateSyncStorage *storage)
{
    return d->setStorage(storage);
}

QStateSyncStorage *QStateSyncer::storage() const
{
    return d->storage;
}

/*!
    \fn void QStateSyncer::storageChanged()

    This signal is emitted when the server's storage changes.
*/

bool QStateSyncerPrivate::setStorage(QStateSyncStorage *newStorage)
{
    if (newStorage == storage)
        return true;
    if (newStorage) {
        if (!states.isEmpty()) {
            qCWarning(lcStateSyncStorage,
                      "a storage must be set before the server has states: not changed");
            return false;
        }
        if (newStorage->isAttached()) {
            qCWarning(lcStateSyncStorage, "the storage already serves another server");
            return false;
        }
        if (newStorage->thread() != q->thread()) {
            qCWarning(lcStateSyncStorage, "the storage lives in another thread than the server");
            return false;
        }
    }
    QList<QStateSyncStoredState> stored;
    if (newStorage) {
        QStateSyncStoragePrivate *backend = QStateSyncStoragePrivate::get(newStorage);
        // What the storage reports comes to the server's thread, wherever that is then.
        backend->context = q;
        if (!backend->open(&stored)) {
            backend->context = nullptr;
            return false;
        }
    }
    detachStorage();
    if (newStorage) {
        QStateSyncStoragePrivate *backend = QStateSyncStoragePrivate::get(newStorage);
        storage = newStorage;
        backend->attached = true;
        backend->committed = [this](quint64 sequence) { releaseChanges(sequence); };
        const bool shared = backend->shared();
        storageDestroyed = QObject::connect(newStorage, &QObject::destroyed, q, [this, shared] {
            // Its destructor reported what the last write stored: the rest is lost.
            failHeldChanges();
            // A shared storage ended its callbacks before it went.
            if (shared)
                releaseShared(nullptr);
            resumeReleasedStates();
            storage = nullptr;
            Q_EMIT q->storageChanged();
        });
        if (QStateSyncSharedStorage *shared = backend->shared())
            attachShared(shared);
        for (const QStateSyncStoredState &state : std::as_const(stored))
            restoreState(state);
        if (!stored.isEmpty())
            Q_EMIT q->stateIdentifiersChanged();
        Q_EMIT newStorage->attachedChanged();
    }
    Q_EMIT q->storageChanged();
    return true;
}

void QStateSyncerPrivate::releaseShared(QStateSyncSharedStorage *shared)
{
    if (shared)
        shared->clearCallbacks();
    for (const auto &state : std::as_const(states)) {
        state->following = false;
        state->early.clear();
        state->awaitedVersion = 0;
        // What the cluster did not answer yet is applied here instead.
        requeueInFlight(*state);
    }
}

void QStateSyncerPrivate::resumeReleasedStates()
{
    // Without a shared storage every state is current as it is: what waited for a
    // cluster (changes, joins, queues) goes on in memory.
    const QList<std::shared_ptr<QStateSyncServerState>> all = states.values();
    for (const auto &state : all) {
        if (state->removed
            || (state->synced && state->outgoing.empty() && state->waitingJoins.isEmpty()))
            continue;
        state->synced = true;
        while (!state->outgoing.empty() && !state->removed) {
            const QStateSyncChange change = std::move(state->outgoing.front());
            state->outgoing.pop_front();
            applyChange(*state, change);
        }
        resumeWaitingJoins(*state);
        if (!state->removed)
            processQueue(state);
    }
}

void QStateSyncerPrivate::detachStorage()
{
    QStateSyncStorage *old = storage;
    if (!old)
        return;
    QObject::disconnect(storageDestroyed);
    storage = nullptr;
    QStateSyncStoragePrivate *backend = QStateSyncStoragePrivate::get(old);
    if (QStateSyncSharedStorage *shared = backend->shared())
        releaseShared(shared);
    const quint64 stored = backend->close();
    backend->committed = nullptr;
    backend->context = nullptr;
    backend->attached = false;
    releaseChanges(stored);
    failHeldChanges();
    resumeReleasedStates();
    Q_EMIT old->attachedChanged();
}

QStateSyncStoragePrivate *QStateSyncerPrivate::storageBackend() const
{
    return storage ? QStateSyncStoragePrivate::get(storage) : nullptr;
}

bool QStateSyncerPrivate::storageHoldsChanges() const
{
    const QStateSyncStoragePrivate *backend = storageBackend();
    return backend && backend->holdsChanges();
}

void QStateSyncerPrivate::restoreState(const QStateSyncStoredState &stored)
{
    QStateSyncStateOptions options;
    options.setIdentifier(stored.identifier);
    options.setMergeMode(stored.mergeMode);
    auto state = std::make_shared<QStateSyncServerState>(stored.identifier, options);
    state->resetValue(stored.value, stored.version);
    state->createdAt = QDateTime::fromMSecsSinceEpoch(stored.createdAt, Qt::UTC);
    state->ttlDeadline = stored.ttlDeadline;
    state->restored = true;
    // The changes replayed count towards the next snapshot, so that the changes stored
    // per state stay bounded however often the server restarts.
    state->changesSinceSnapshot = stored.replayedChanges;
    if (state->changesSinceSnapshot >= ChangesPerSnapshot) {
        state->changesSinceSnapshot = 0;
        storageBackend()->saveSnapshot(state->identifier, state->value, state->version);
    }
    startTtl(state);
    states.insert(stored.identifier, state);
    qCDebug(lcStateSyncStorage).noquote()
            << "state" << loggable(stored.identifier) << "restored at version" << stored.version;
    Q_EMIT q->stateCreated(stored.identifier);
}

void QStateSyncerPrivate::storeState(const QStateSyncServerState &state)
{
    QStateSyncStoragePrivate *backend = storageBackend();
    if (!backend)
        return;
    backend->saveState(storedForm(state));
}

QStateSyncStoredState QStateSyncerPrivate::storedForm(const QStateSyncServerState &state)
{
    QStateSyncStoredState stored;
    stored.identifier = state.identifier;
    stored.mergeMode = state.options.mergeMode();
    stored.value = state.value;
    stored.version = state.version;
    stored.createdAt = state.createdAt.toMSecsSinceEpoch();
    stored.ttlDeadline = state.ttlDeadline;
    return stored;
}

bool QStateSyncerPrivate::storeChange(QStateSyncServerState &state, const QStateSyncChange &change,
                                      const QJsonObject &notified)
{
    QStateSyncStoragePrivate *backend = storageBackend();
    if (!backend)
        return false;
    const quint64 sequence
            = backend->saveChange(state.identifier, state.version, change.kind, change.changes);
    if (++state.changesSinceSnapshot >= ChangesPerSnapshot) {
        state.changesSinceSnapshot = 0;
        backend->saveSnapshot(state.identifier, state.value, state.version);
    }
    if (!backend->holdsChanges())
        return false;
    ++state.heldChanges;
    heldChanges.push_back(HeldChange{sequence, states.value(state.identifier), change, notified,
                                     state.value, state.version});
    return true;
}

void QStateSyncerPrivate::storeBatchChange(QStateSyncServerState &state, qint64 version,
                                           const QStateSyncChange &change)
{
    if (QStateSyncStoragePrivate *backend = storageBackend()) {
        backend->saveChange(state.identifier, version, change.kind, change.changes);
        ++state.changesSinceSnapshot;
    }
}

void QStateSyncerPrivate::snapshotIfDue(QStateSyncServerState &state)
{
    QStateSyncStoragePrivate *backend = storageBackend();
    if (!backend || state.changesSinceSnapshot < ChangesPerSnapshot)
        return;
    state.changesSinceSnapshot = 0;
    backend->saveSnapshot(state.identifier, state.value, state.version);
}

void QStateSyncerPrivate::releaseChanges(quint64 storedSequence)
{
    while (!heldChanges.empty() && heldChanges.front().sequence <= storedSequence) {
        HeldChange held = std::move(heldChanges.front());
        heldChanges.pop_front();
        const auto state = held.state.lock();
        if (!state || state->removed)
            continue;
        if (--state->heldChanges == 0)
            state->published.reset();
        else
            state->published = QStateSyncServerState::Published{held.valueAfter, held.versionAfter};
        state->broadcast(held.change.kind, held.change.changes, held.valueAfter, held.versionAfter,
                         held.change.sender, held.change.requestId);
        Q_EMIT q->stateUpdated(state->identifier, held.notified, held.versionAfter);
    }
}

void QStateSyncerPrivate::failHeldChanges()
{
    if (heldChanges.empty())
        return;
    const std::deque<HeldChange> failed = std::exchange(heldChanges, {});
    // Nobody was shown them: each state goes back to what its clients were shown.
    QSet<QStateSyncServerState *> rolledBack;
    for (const HeldChange &held : failed) {
        const auto state = held.state.lock();
        if (!state || state->removed)
            continue;
        if (!rolledBack.contains(state.get()) && state->published) {
            rolledBack.insert(state.get());
            const QStateSyncServerState::Published shown = *std::exchange(state->published, {});
            state->resetValue(shown.value, shown.version);
            state->heldChanges = 0;
        }
        // Counted as applied when it was: it was not, in the end.
        --counters.updatesApplied;
        ++counters.updatesRefused;
        if (QStateSyncConnection *sender = held.change.sender) {
            sender->send(QStateSyncProtocol::encodeError(
                    QStateSyncProtocol::MessageType::StateUpdateFailed,
                    QStateSync::Error::StorageFailed,
                    QStringLiteral("The change could not be stored, and was not applied"),
                    held.change.requestId));
        }
    }
    qCWarning(lcStateSyncStorage).noquote()
            << failed.size() << "changes could not be stored before the storage closed; their"
            << "senders were told (storage_failed) and the states show what they showed before";
}

bool QStateSyncerPrivate::storageAccepts(const QStateSyncServerState &state,
                                         const QStateSyncChange &change)
{
    const QStateSyncStoragePrivate *backend = storageBackend();
    QString reason;
    if (backend && !backend->acceptsChanges(&reason)) {
        // the storage says why
    } else if (sharedStorage() && clusterBacklog(state) >= MostChangesWaitingForCluster) {
        // Redis is away, or slower than the clients: what waits for it is bounded.
        reason = QStringLiteral("%1 changes wait for the cluster's storage")
                         .arg(clusterBacklog(state));
    } else {
        return true;
    }
    ++counters.updatesRefused;
    // While the disk fails every change is refused: one line a second says so.
    quint64 heldBack = 0;
    if (storageRefusalLog.allow(&heldBack)) {
        qCWarning(lcStateSyncStorage).noquote().nospace()
                << "refused a change to state " << loggable(state.identifier)
                << (change.sender ? QStringLiteral(" from ") + change.sender->peerDescription()
                                  : QString())
                << ": storage_failed: " << reason
                << (heldBack ? QStringLiteral(" (and %1 more since the last line)").arg(heldBack)
                             : QString());
    }
    if (change.sender) {
        change.sender->send(QStateSyncProtocol::encodeError(
                QStateSyncProtocol::MessageType::StateUpdateFailed,
                QStateSync::Error::StorageFailed,
                QStringLiteral("The server cannot store changes now; try again later"),
                change.requestId));
    }
    return false;
}
