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

#include <limits>

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
    deadlines: stateCreated() is emitted for each. createState() with the identifier of a
    state brought back gives it the options passed (hooks, filters, merge mode) and keeps
    its value and version.

    From then on every state created, every change applied and every state removed is
    stored. The server does not own \a storage. A storage that is replaced, or destroyed
    while in use, first stores everything it was given.

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
    if (newStorage && !QStateSyncStoragePrivate::get(newStorage)->open(&stored))
        return false;
    detachStorage();
    if (newStorage) {
        QStateSyncStoragePrivate *backend = QStateSyncStoragePrivate::get(newStorage);
        storage = newStorage;
        backend->attached = true;
        backend->committed = [this](quint64 sequence) { releaseChanges(sequence); };
        storageDestroyed = QObject::connect(newStorage, &QObject::destroyed, q, [this] {
            // The storage stored everything before it went: show what it held.
            releaseChanges(std::numeric_limits<quint64>::max());
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

void QStateSyncerPrivate::detachStorage()
{
    QStateSyncStorage *old = storage;
    if (!old)
        return;
    QObject::disconnect(storageDestroyed);
    storage = nullptr;
    QStateSyncStoragePrivate *backend = QStateSyncStoragePrivate::get(old);
    if (QStateSyncSharedStorage *shared = backend->shared()) {
        // The states stay, in memory only, as this node last knew them.
        shared->synced = nullptr;
        shared->published = nullptr;
        shared->submitted = nullptr;
        shared->createdElsewhere = nullptr;
        shared->removedElsewhere = nullptr;
        shared->reconnected = nullptr;
        for (const auto &state : std::as_const(states)) {
            state->following = false;
            state->synced = false;
            state->early.clear();
            state->awaitedVersion = 0;
            if (state->inFlight) {
                std::vector<QStateSyncChange> changes = std::move(state->inFlight->changes);
                state->inFlight.reset();
                for (auto it = changes.rbegin(); it != changes.rend(); ++it)
                    state->outgoing.push_front(std::move(*it));
            }
        }
    }
    backend->close();
    backend->committed = nullptr;
    backend->attached = false;
    // Stored by close(): nothing is held any more.
    releaseChanges(std::numeric_limits<quint64>::max());
    // Changes that waited for the shared storage are applied here, in memory.
    for (const auto &state : std::as_const(states)) {
        while (!state->outgoing.empty() && !state->removed) {
            const QStateSyncChange change = std::move(state->outgoing.front());
            state->outgoing.pop_front();
            applyChange(*state, change);
        }
    }
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
    options.setInitialValue(stored.value);
    auto state = std::make_shared<QStateSyncServerState>(stored.identifier, options);
    state->version = stored.version;
    state->createdAt = QDateTime::fromMSecsSinceEpoch(stored.createdAt, Qt::UTC);
    state->ttlDeadline = stored.ttlDeadline;
    state->restored = true;
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
    QStateSyncStoredState stored;
    stored.identifier = state.identifier;
    stored.mergeMode = state.options.mergeMode();
    stored.value = state.value;
    stored.version = state.version;
    stored.createdAt = state.createdAt.toMSecsSinceEpoch();
    stored.ttlDeadline = state.ttlDeadline;
    backend->saveState(stored);
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
