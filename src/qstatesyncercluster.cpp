// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// QStateSyncer as a node of a cluster: with a shared storage (QStateSyncRedisStorage) the
// value and version of each state live in the storage. The node follows the states its
// clients joined, applies the changes the storage publishes in the storage's order, and
// submits its own clients' changes, after this node's hooks ran on them, as batches merged
// on the value at a version: the storage applies a batch only if the state is still at
// that version, so every node sees every change once, in one order, with one version.

#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynclogging_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncsharedstorage_p.h"

#include <QtCore/qdatetime.h>

using namespace QStateSyncProtocol;
using QStateSync::Error;
using SubmitResult = QStateSyncSharedStorage::SubmitResult;

namespace {
// A batch carries at most this many changes: one script run, one published message.
constexpr int MostChangesPerBatch = 256;
// After a conflict the node waits this long to hear the changes that were ahead of it,
// then reads the state again.
constexpr int ConflictCatchUpTime = 1000;
// Publications heard while a state is being read wait, up to this many.
constexpr size_t MostEarlyPublications = 10000;
// A ttl removal that could not reach Redis is tried again after this long.
constexpr int RemovalRetryTime = 1000;
} // namespace

QStateSyncSharedStorage *QStateSyncerPrivate::sharedStorage() const
{
    QStateSyncStoragePrivate *backend = storageBackend();
    return backend ? backend->shared() : nullptr;
}

void QStateSyncerPrivate::attachShared(QStateSyncSharedStorage *shared)
{
    shared->synced = [this](const QStateSyncStoredState &stored, bool found, quint64 lastToken) {
        sharedSynced(stored, found, lastToken);
    };
    shared->published = [this](const QString &identifier, qint64 firstVersion,
                               const QList<QStateSyncSharedChange> &changes, const QString &origin,
                               quint64 token) {
        sharedPublished(identifier, firstVersion, changes, origin, token);
    };
    shared->submitted = [this](const QString &identifier, quint64 token, SubmitResult result,
                               qint64 currentVersion) {
        sharedSubmitted(identifier, token, result, currentVersion);
    };
    shared->createdElsewhere = [this](const QStateSyncStoredState &stored) {
        if (states.contains(stored.identifier))
            return;
        restoreState(stored);
        Q_EMIT q->stateIdentifiersChanged();
    };
    shared->removedElsewhere = [this](const QString &identifier, QStateSync::RemovalReason reason) {
        removeStateHere(identifier, reason);
    };
    shared->reconnected = [this] {
        // What was heard while away is unknown: every followed state is read again once
        // its channel is subscribed again.
        for (const auto &state : std::as_const(states)) {
            if (state->following) {
                state->synced = false;
                state->early.clear();
            }
        }
    };
}

void QStateSyncerPrivate::followState(QStateSyncServerState &state)
{
    if (state.following)
        return;
    state.following = true;
    state.synced = false;
    state.early.clear();
    sharedStorage()->follow(state.identifier);
}

void QStateSyncerPrivate::unfollowIfIdle(QStateSyncServerState &state)
{
    QStateSyncSharedStorage *shared = sharedStorage();
    if (!shared || !state.following || !state.clients.isEmpty() || !state.queue.empty()
        || state.waitingFor || !state.outgoing.empty() || state.inFlight
        || !state.waitingJoins.isEmpty())
        return;
    state.following = false;
    state.synced = false;
    state.early.clear();
    shared->unfollow(state.identifier);
}

void QStateSyncerPrivate::submitOutgoing(QStateSyncServerState &state)
{
    QStateSyncSharedStorage *shared = sharedStorage();
    if (!shared || !state.synced || state.inFlight || state.outgoing.empty()
        || state.awaitedVersion > state.version)
        return;
    // The batch is merged on a copy: the state itself changes only when the storage
    // publishes the batch, in its place among the other nodes' changes.
    QStateSyncStateOptions options = state.options;
    options.setInitialValue(state.value);
    QStateSyncServerState scratch(state.identifier, options);
    QStateSyncSharedBatch batch;
    batch.identifier = state.identifier;
    batch.baseVersion = state.version;
    QStateSyncServerState::InFlight inFlight;
    QSet<QString> touched;
    while (!state.outgoing.empty() && batch.changes.size() < MostChangesPerBatch) {
        QStateSyncChange change = std::move(state.outgoing.front());
        state.outgoing.pop_front();
        if (!applyOrRefuse(scratch, change))
            continue;
        for (auto it = change.changes.constBegin(); it != change.changes.constEnd(); ++it)
            touched.insert(it.key());
        batch.changes.append(QStateSyncSharedChange{change.kind, change.changes});
        inFlight.changes.push_back(std::move(change));
    }
    if (batch.changes.isEmpty())
        return;
    for (const QString &key : std::as_const(touched)) {
        const auto it = scratch.value.constFind(key);
        if (it == scratch.value.constEnd())
            batch.removedKeys.append(key);
        else
            batch.touched.insert(key, it.value());
    }
    state.inFlight = std::move(inFlight);
    state.inFlight->token = shared->submit(batch);
}

void QStateSyncerPrivate::sharedSubmitted(const QString &identifier, quint64 token,
                                          SubmitResult result, qint64 currentVersion)
{
    const auto state = states.value(identifier);
    if (!state || !state->inFlight || state->inFlight->token != token)
        return; // heard of already, by its publication
    switch (result) {
    case SubmitResult::Applied:
        return; // acknowledged when its publication arrives, in order
    case SubmitResult::Unknown:
        // No answer: the next read of the state tells whether it was applied (at once, or
        // once the storage is connected again).
        state->synced = false;
        sharedStorage()->resync(identifier);
        return;
    case SubmitResult::Gone: {
        const std::vector<QStateSyncChange> changes = std::move(state->inFlight->changes);
        state->inFlight.reset();
        for (const QStateSyncChange &change : changes)
            refuseChange(change, Error::StateNotFound,
                         QStringLiteral("The state was removed before the change was applied"));
        return;
    }
    case SubmitResult::Conflict:
        break;
    }
    // Another node was first: merge the batch again once its changes are here.
    requeueInFlight(*state);
    state->awaitedVersion = currentVersion;
    if (state->version >= currentVersion) {
        submitOutgoing(*state);
        return;
    }
    const std::weak_ptr<QStateSyncServerState> weak = state;
    QTimer::singleShot(ConflictCatchUpTime, q, [this, weak, currentVersion] {
        const auto state = weak.lock();
        if (!state || state->removed || !state->synced || state->version >= currentVersion)
            return;
        qCInfo(lcStateSyncStorage).noquote()
                << "state" << loggable(state->identifier) << "did not hear version"
                << currentVersion << "in time: reading it again";
        state->synced = false;
        sharedStorage()->resync(state->identifier);
    });
}

void QStateSyncerPrivate::sharedPublished(const QString &identifier, qint64 firstVersion,
                                          const QList<QStateSyncSharedChange> &changes,
                                          const QString &origin, quint64 token)
{
    const auto state = states.value(identifier);
    if (!state || !state->following)
        return;
    QStateSyncServerState::Publication publication{firstVersion, changes, origin, token};
    if (!state->synced) {
        if (state->early.size() >= MostEarlyPublications) {
            // The read takes long (Redis loading, busy): rather than keep everything heard
            // meanwhile, read again later, which covers it all.
            state->early.clear();
            sharedStorage()->resync(identifier);
            return;
        }
        state->early.push_back(std::move(publication));
        return;
    }
    applyPublication(*state, publication);
    if (!state->synced || state->removed)
        return;
    submitOutgoing(*state);
    // A node that followed the state only for a change of its own lets go of it now.
    unfollowIfIdle(*state);
}

void QStateSyncerPrivate::applyPublication(QStateSyncServerState &state,
                                           const QStateSyncServerState::Publication &publication)
{
    const qint64 lastVersion = publication.firstVersion + publication.changes.size() - 1;
    if (lastVersion <= state.version)
        return; // in the value already
    QStateSyncSharedStorage *shared = sharedStorage();
    if (publication.firstVersion != state.version + 1) {
        qCInfo(lcStateSyncStorage).noquote()
                << "state" << loggable(state.identifier) << "missed versions" << state.version + 1
                << "to" << publication.firstVersion - 1 << ": reading it again";
        state.synced = false;
        shared->resync(state.identifier);
        return;
    }
    const bool own = publication.origin == shared->nodeIdentifier() && state.inFlight
            && state.inFlight->token == publication.token
            && state.inFlight->changes.size() == size_t(publication.changes.size());
    for (qsizetype i = 0; i < publication.changes.size(); ++i) {
        const QStateSyncSharedChange &change = publication.changes.at(i);
        // Applied by the storage already: the node's copy follows, whatever its limits.
        QString failedKey;
        if (state.apply(change.kind, change.changes, 0, &failedKey)
            != QStateSyncServerState::ApplyResult::Applied) {
            qCWarning(lcStateSyncStorage).noquote()
                    << "state" << loggable(state.identifier) << "cannot apply version"
                    << state.version + 1 << "from the storage: reading it again";
            state.synced = false;
            shared->resync(state.identifier);
            return;
        }
        ++state.version;
        ++counters.updatesApplied;
        const QStateSyncChange *ownChange = own ? &state.inFlight->changes[size_t(i)] : nullptr;
        const QJsonObject notified = change.kind == QStateSyncUpdateRequest::Append
                ? QStateSyncMerge::topLevelValues(state.value, change.changes)
                : change.changes;
        state.broadcast(change.kind, change.changes, state.value, state.version,
                        ownChange ? ownChange->sender.data() : nullptr,
                        ownChange ? ownChange->requestId : QJsonValue(QJsonValue::Undefined));
        Q_EMIT q->stateUpdated(state.identifier, notified, state.version);
        if (state.removed)
            return; // a handler removed it
    }
    if (own)
        state.inFlight.reset();
    if (state.awaitedVersion <= state.version)
        state.awaitedVersion = 0;
}

void QStateSyncerPrivate::sharedSynced(const QStateSyncStoredState &stored, bool found,
                                       quint64 lastToken)
{
    const auto state = states.value(stored.identifier);
    if (!state || !state->following || state->removed)
        return;
    if (!found) {
        qCWarning(lcStateSyncStorage).noquote()
                << "state" << loggable(stored.identifier)
                << "is no longer in the shared storage: removed here too";
        removeStateHere(stored.identifier, QStateSync::RemovalReason::Removed);
        return;
    }
    const bool resync = !state->clients.isEmpty();
    state->replaceValue(stored.value);
    state->version = stored.version;
    if (state->ttlDeadline != stored.ttlDeadline) {
        state->ttlDeadline = stored.ttlDeadline;
        startTtl(state);
    }
    state->synced = true;
    // A batch whose answer was lost: the storage's record of this node's last batch tells
    // whether it is in the value just read.
    QHash<QStateSyncConnection *, QList<QJsonValue>> acknowledged;
    // This node submits one batch of a state at a time: the last one recorded is the one
    // in flight, or an earlier one.
    if (state->inFlight && lastToken != state->inFlight->token) {
        requeueInFlight(*state);
    } else if (state->inFlight) {
        for (const QStateSyncChange &change : state->inFlight->changes) {
            if (change.sender && !change.requestId.isUndefined())
                acknowledged[change.sender.data()].append(change.requestId);
        }
        state->inFlight.reset();
    }
    state->awaitedVersion = 0;
    // What was heard before the read and is newer than it, in order.
    std::vector<QStateSyncServerState::Publication> early = std::exchange(state->early, {});
    for (const QStateSyncServerState::Publication &publication : early) {
        if (!state->synced || state->removed)
            break;
        applyPublication(*state, publication);
    }
    if (state->removed)
        return;
    if (resync) {
        for (QStateSyncConnection *client : std::as_const(state->clients))
            client->resynchronize(acknowledged.value(client));
    }
    // Joins that waited for the value go on, each as if it came now.
    resumeWaitingJoins(*state);
    if (state->removed || !state->synced)
        return;
    processQueue(state);
    submitOutgoing(*state);
    unfollowIfIdle(*state);
}

void QStateSyncerPrivate::requeueInFlight(QStateSyncServerState &state)
{
    if (!state.inFlight)
        return;
    std::vector<QStateSyncChange> changes = std::move(state.inFlight->changes);
    state.inFlight.reset();
    for (auto it = changes.rbegin(); it != changes.rend(); ++it)
        state.outgoing.push_front(std::move(*it));
}

void QStateSyncerPrivate::resumeWaitingJoins(QStateSyncServerState &state)
{
    const QList<QPointer<QStateSyncConnection>> joins = std::exchange(state.waitingJoins, {});
    for (const QPointer<QStateSyncConnection> &connection : joins) {
        if (connection && !connection->isGone() && connection->awaitedState == state.identifier) {
            connection->awaitedState.clear();
            handleJoin(connection, state.identifier);
        }
    }
}

bool QStateSyncerPrivate::clusterRemovalFailed(const QString &stateIdentifier,
                                               QStateSync::RemovalReason reason)
{
    const auto state = states.value(stateIdentifier);
    qCWarning(lcStateSyncStorage).noquote()
            << "state" << loggable(stateIdentifier) << "was not removed ("
            << QStateSync::removalReasonName(reason) << "): the cluster's storage did not"
            << "remove it";
    if (!state || reason != QStateSync::RemovalReason::Ttl)
        return false;
    QStateSyncStoredState stored;
    if (sharedStorage()->readState(stateIdentifier, &stored) && stored.ttlDeadline > 0
        && stored.ttlDeadline != state->ttlDeadline) {
        // Another deadline in Redis: that one counts.
        state->ttlDeadline = stored.ttlDeadline;
        startTtl(state);
        return false;
    }
    const std::weak_ptr<QStateSyncServerState> weak = state;
    QTimer::singleShot(RemovalRetryTime, q, [this, weak] {
        const auto state = weak.lock();
        if (state && !state->removed)
            removeState(state->identifier, QStateSync::RemovalReason::Ttl);
    });
    return false;
}

qsizetype QStateSyncerPrivate::clusterBacklog(const QStateSyncServerState &state)
{
    return qsizetype(state.queue.size() + state.outgoing.size()
                     + (state.inFlight ? state.inFlight->changes.size() : 0));
}

int QStateSyncerPrivate::countClusterClients(QStateSyncServerState &state)
{
    QStateSyncSharedStorage *shared = sharedStorage();
    if (!shared)
        return int(state.clients.size());
    return shared->countClients(state.identifier, int(state.clients.size()));
}
