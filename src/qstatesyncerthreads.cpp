// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// State threads: the changes of states that no hook watches are merged and encoded on
// worker threads, a batch per state at a time, on a copy of the state's value; the
// server's thread applies the result (one assignment), broadcasts the frames made there
// and emits the signals, in the order the changes came.

#include "qstatesyncer.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesyncstatethreads_p.h"

#include <algorithm>

using QStateSync::Error;

namespace {
// The most changes of one state in one batch: what comes meanwhile waits for the next.
constexpr size_t MostChangesPerBatch = 512;
} // namespace

/*!
    \property QStateSyncer::stateThreads
    \brief how many threads merge and encode the states' changes; 0 means the server's
    own thread. Default: 0, or the value of the environment variable
    \c QSTATESYNC_STATE_THREADS when it is set.

    With state threads, the changes of a state that no hook watches (no
    QStateSyncStateOptions interceptor, nothing connected to updateRequested()) are
    merged and encoded on one of these threads: the merge of a change into the value,
    the size check of maxStateSize, and the encoding of the message each flavour of client
    gets. Many states then use as many cores. The server's thread keeps the rest: it takes
    the result of each batch, sends the frames already made, and emits stateUpdated(), in
    the order the changes came. A state has one batch of changes on a thread at a time;
    the changes that come meanwhile make its next batch.

    What stays the same: the order of each state's changes, what its clients receive,
    and every signal, emitted on the server's thread in that order. A server-side change
    (updateStateValue(), appendToState()) still applies within the call: the server
    first applies the state's batches, waiting for one that runs. While a hook watches a
    state its changes are applied on the server's thread, after its batches, so that the
    hook sees the current value; so are they with a storage that holds changes until they
    are stored (the Durable mode of QStateSyncSqliteStorage) or a cluster storage.

    What differs:
    \list
    \li A client's change is applied when its batch comes back, in a later turn of the
        event loop. A refusal made as it arrives (\c rate_limited, \c storage_failed) may
        therefore reach the client before the acknowledgements of its earlier changes,
        which the protocol allows; a client that leaves the state before its batch is
        applied is not acknowledged (its QStateSyncClient reports the change failed).
    \li In a stateUpdated() handler, valueOfState() may already hold the changes that
        follow in the same batch; the version the signal carries is that of the change.
        A server-side change made from such a handler comes after the batch.
    \li Changes still on a state thread when the state is removed, or the server is
        destroyed, are dropped unanswered, as are changes waiting for a hook then.
    \endlist

    State threads take work off the server's thread, which helps when that thread is the
    limit, for instance when the application does much of its own work there. They do not
    raise throughput by themselves: in the project's benchmarks, on 2 cores, many busy
    states delivered 7 to 20% less with them, and their work alone grew only 1.0 to 1.2
    times from one thread to two, held back by memory allocation. One state alone
    never gains (its batches follow each other). Measure before turning them on.

    A change takes effect at once: the batches running finish on the threads they run on.

    \sa ioThreads
*/

/*!
    \fn void QStateSyncer::stateThreadsChanged()

    This signal is emitted when stateThreads changes.
*/

int QStateSyncer::stateThreads() const
{
    return d->stateThreads;
}

void QStateSyncer::setStateThreads(int threads)
{
    threads = std::clamp(threads, 0, 64);
    if (d->stateThreads == threads)
        return;
    d->stateThreads = threads;
    // Runs what was posted to the threads, whose results come back in later turns.
    d->stateWorkers.reset();
    Q_EMIT stateThreadsChanged();
}

int QStateSyncerPrivate::defaultStateThreads()
{
    return threadsFromEnvironment("QSTATESYNC_STATE_THREADS", 0);
}

bool QStateSyncerPrivate::usesStateThreads(const QStateSyncServerState &state) const
{
    if (state.hasThreadWork())
        return true; // what follows waits behind what is there
    if (stateThreads <= 0 || sharedStorage() || storageHoldsChanges())
        return false;
    return !state.hasInterceptor() && !hasUpdateHandler();
}

bool QStateSyncerPrivate::hooksWaitForStateThread(const QStateSyncServerState &state) const
{
    return state.hasThreadWork() && (state.hasInterceptor() || hasUpdateHandler());
}

void QStateSyncerPrivate::queueForStateThread(QStateSyncServerState &state,
                                              const QStateSyncChange &change)
{
    state.threadQueue.push_back(change);
    if (state.batchRunning || state.batchScheduled)
        return;
    // The changes of this turn of the event loop go in one batch.
    state.batchScheduled = true;
    batchesToSubmit.push_back(states.value(state.identifier));
    if (batchSubmitPosted)
        return;
    batchSubmitPosted = true;
    QMetaObject::invokeMethod(
            q, [this] { submitScheduledBatches(); }, Qt::QueuedConnection);
}

void QStateSyncerPrivate::finishThreadWork(QStateSyncServerState &state)
{
    const auto shared = states.value(state.identifier);
    if (shared.get() != &state)
        return;
    while (!state.removed && !state.committing && state.hasThreadWork()) {
        if (!state.batchRunning)
            submitBatch(shared);
        std::shared_ptr<QStateSyncStateBatch> batch = state.runningBatch;
        // A batch its thread has not started yet (it may be busy with other states') runs
        // here; otherwise it is about to end.
        if (batch->claim()) {
            batch->run();
        } else {
            QStateSyncStateThreads::holdJobs(false);
            batch->waitUntilDone();
        }
        // Applies it, and sends what waited behind it to a thread.
        commitBatch(std::move(batch), shared);
    }
}

void QStateSyncerPrivate::submitScheduledBatches()
{
    batchSubmitPosted = false;
    const auto scheduled = std::exchange(batchesToSubmit, {});
    for (const auto &weak : scheduled) {
        const auto state = weak.lock();
        if (!state)
            continue;
        state->batchScheduled = false;
        // A state whose batch is being signalled (a handler may run an event loop of its
        // own) sends its next batch once that is over.
        if (!state->removed && !state->batchRunning && !state->committing
            && !state->threadQueue.empty()) {
            submitBatch(state);
        }
    }
}

void QStateSyncerPrivate::submitBatch(const std::shared_ptr<QStateSyncServerState> &state)
{
    auto batch = std::make_shared<QStateSyncStateBatch>();
    batch->value = state->value;
    batch->sizes = state->valueSizes();
    batch->version = state->version;
    batch->mergeMode = state->options.mergeMode();
    batch->maxStateSize = limits.maxStateSize;
    for (const QStateSyncConnection *client : std::as_const(state->clients))
        (client->isV2() ? batch->encodeV2 : batch->encodeV1) = true;
    const size_t count = std::min(state->threadQueue.size(), MostChangesPerBatch);
    batch->items.reserve(count);
    state->threadBatch.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        QStateSyncChange change = std::move(state->threadQueue.front());
        state->threadQueue.pop_front();
        QStateSyncStateBatch::Item item;
        item.kind = change.kind;
        item.changes = change.changes;
        item.requestId = change.requestId;
        if (change.sender) {
            item.acknowledgement = change.sender->isV2()
                    ? QStateSyncStateBatch::Item::Acknowledgement::V2
                    : QStateSyncStateBatch::Item::Acknowledgement::V1;
        }
        batch->items.push_back(std::move(item));
        state->threadBatch.push_back(std::move(change));
    }
    state->batchRunning = true;
    state->runningBatch = batch;

    const std::weak_ptr<QStateSyncServerState> weak = state;
    auto commit = [this, batch, weak]() mutable { commitBatch(std::move(batch), weak); };
    if (stateThreads <= 0) {
        // The threads were turned off with changes still waiting for them.
        batch->claim();
        batch->run();
        QMetaObject::invokeMethod(q, std::move(commit), Qt::QueuedConnection);
        return;
    }
    if (!stateWorkers)
        stateWorkers = std::make_unique<QStateSyncStateThreads>(stateThreads);
    if (state->stateThread < 0)
        state->stateThread = int(nextStateThread++ % unsigned(stateThreads));
    QObject *context = q;
    stateWorkers->post(state->stateThread % stateWorkers->count(),
                       [batch, context, commit = std::move(commit)]() mutable {
                           // Unless the server's thread ran it already, and applies it.
                           if (!batch->claim())
                               return;
                           batch->run();
                           QMetaObject::invokeMethod(context, std::move(commit),
                                                     Qt::QueuedConnection);
                       });
}

void QStateSyncerPrivate::commitBatch(std::shared_ptr<QStateSyncStateBatch> running,
                                      const std::weak_ptr<QStateSyncServerState> &weak)
{
    QStateSyncStateBatch &batch = *running;
    if (std::exchange(batch.committed, true))
        return; // applied already, by finishThreadWork()
    const auto state = weak.lock();
    // A state removed meanwhile applies, answers and shows nothing more.
    if (!state || state->removed)
        return;
    state->batchRunning = false;
    state->runningBatch.reset();
    const std::vector<QStateSyncChange> changes = std::exchange(state->threadBatch, {});
    Q_ASSERT(changes.size() == batch.items.size());
    {
        // The batch keeps the value from before, to free it on the state thread that made
        // the new one, with the changes and frames no longer needed: one thread's heap
        // allocates and frees them, and the server's thread does neither.
        QJsonObject before = state->value;
        QStateSyncValueSizes sizesBefore = state->valueSizes();
        state->adoptValue(batch.value, batch.sizes, batch.version);
        batch.value = std::move(before);
        batch.sizes = std::move(sizesBefore);
    }
    state->committing = true;
    for (size_t i = 0; i < changes.size(); ++i) {
        const QStateSyncStateBatch::Item &item = batch.items[i];
        const QStateSyncChange &change = changes[i];
        if (!refuseUnless(item.result, change, item.failedKey))
            continue;
        ++counters.updatesApplied;
        storeBatchChange(*state, item.version, change);
        state->broadcast(change.kind, change.changes, item.encoded, item.version, change.sender,
                         change.requestId);
        Q_EMIT q->stateUpdated(state->identifier, item.notified, item.version);
        if (state->removed)
            return; // a handler removed the state
    }
    state->committing = false;
    snapshotIfDue(*state);
    if (stateWorkers && state->stateThread >= 0)
        stateWorkers->dispose(state->stateThread % stateWorkers->count(), std::move(running));
    if (!state->threadQueue.empty() && !state->batchRunning)
        submitBatch(state);
    // Hooks that waited for the batch go on.
    processQueue(state);
}
