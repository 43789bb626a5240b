// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncstatethreads_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"

#include <pthread.h>

#include <atomic>

using namespace QStateSyncProtocol;

namespace {
std::atomic<quint64> stateThreadJobs{0};
std::atomic<quint64> stateThreadJobsPosted{0};
std::mutex holdMutex;
std::condition_variable holdCondition;
bool jobsHeld = false; // guarded by holdMutex
// jobsHeld, read without the mutex: the threads look at it before every job, and only
// lock the mutex while it is set, so that the seam costs them nothing otherwise.
std::atomic<bool> jobsMayBeHeld{false};
} // namespace

quint64 QStateSyncStateThreads::jobsPosted()
{
    return stateThreadJobsPosted.load(std::memory_order_relaxed);
}

void QStateSyncStateThreads::holdJobs(bool hold)
{
    {
        const std::lock_guard lock(holdMutex);
        jobsHeld = hold;
        jobsMayBeHeld.store(hold, std::memory_order_release);
    }
    holdCondition.notify_all();
}

void QStateSyncStateThreads::waitWhileHeld(const Worker *worker)
{
    if (!jobsMayBeHeld.load(std::memory_order_acquire))
        return;
    std::unique_lock lock(holdMutex);
    holdCondition.wait(lock, [worker] { return !jobsHeld || worker->released.load(); });
}

quint64 QStateSyncStateThreads::jobsRun()
{
    return stateThreadJobs.load(std::memory_order_relaxed);
}

void QStateSyncStateBatch::run()
{
    for (Item &item : items) {
        item.result = QStateSyncServerState::apply(value, sizes, mergeMode, item.kind, item.changes,
                                                   maxStateSize, &item.failedKey);
        if (!item.applied())
            continue;
        item.version = ++version;
        const bool append = item.kind == QStateSyncUpdateRequest::Append;
        // v1 clients get the whole new value of each key; so does a congested client's
        // conflated append, and stateUpdated() for an append.
        item.encoded.touchedValues = QStateSyncMerge::topLevelValues(value, item.changes);
        item.notified = append ? item.encoded.touchedValues : item.changes;
        const int v2Type = append ? MessageType::StateAppended : MessageType::StateUpdated;
        const bool acknowledge = !item.requestId.isUndefined() && !item.requestId.isNull();
        if (encodeV2 || item.acknowledgement == Item::Acknowledgement::V2) {
            const Broadcast message(v2Type, item.changes, item.version);
            if (encodeV2)
                item.encoded.v2Frame = message.frame();
            if (acknowledge && item.acknowledgement == Item::Acknowledgement::V2)
                item.encoded.acknowledgementFrame = message.frame(item.requestId);
        }
        if (encodeV1 || item.acknowledgement == Item::Acknowledgement::V1) {
            const Broadcast message(MessageType::StateUpdated, item.encoded.touchedValues,
                                    item.version);
            if (encodeV1)
                item.encoded.v1Frame = message.frame();
            if (acknowledge && item.acknowledgement == Item::Acknowledgement::V1)
                item.encoded.acknowledgementFrame = message.frame(item.requestId);
        }
    }
    {
        const std::lock_guard lock(m_doneMutex);
        m_done = true;
    }
    m_doneCondition.notify_all();
}

void QStateSyncStateBatch::waitUntilDone()
{
    std::unique_lock lock(m_doneMutex);
    m_doneCondition.wait(lock, [this] { return m_done; });
}

QStateSyncStateThreads::QStateSyncStateThreads(int count)
{
    m_workers.reserve(count);
    for (int i = 0; i < count; ++i) {
        auto worker = std::make_unique<Worker>();
        worker->thread = std::thread(&QStateSyncStateThreads::work, worker.get());
        // At most 15 characters, or the system refuses the name.
        const QByteArray name = "QStateSync st" + QByteArray::number(i);
        pthread_setname_np(worker->thread.native_handle(), name.constData());
        m_workers.push_back(std::move(worker));
    }
}

QStateSyncStateThreads::~QStateSyncStateThreads()
{
    for (const auto &worker : m_workers) {
        {
            const std::lock_guard lock(worker->mutex);
            worker->stopping = true;
        }
        worker->wake.notify_one();
        {
            const std::lock_guard lock(holdMutex);
            worker->released.store(true);
        }
        holdCondition.notify_all();
    }
    for (const auto &worker : m_workers)
        worker->thread.join();
}

void QStateSyncStateThreads::post(int index, std::function<void()> job)
{
    stateThreadJobsPosted.fetch_add(1, std::memory_order_relaxed);
    enqueue(index, Worker::Job{std::move(job), true});
}

void QStateSyncStateThreads::dispose(int index, std::shared_ptr<QStateSyncStateBatch> batch)
{
    enqueue(index, Worker::Job{[batch = std::move(batch)]() mutable { batch.reset(); }, false});
}

void QStateSyncStateThreads::enqueue(int index, Worker::Job job)
{
    Worker *worker = m_workers.at(index).get();
    bool wasIdle = false;
    {
        const std::lock_guard lock(worker->mutex);
        wasIdle = worker->jobs.empty();
        worker->jobs.push_back(std::move(job));
    }
    // A thread with jobs queued is awake, or about to look again.
    if (wasIdle)
        worker->wake.notify_one();
}

void QStateSyncStateThreads::work(Worker *worker)
{
    std::unique_lock lock(worker->mutex);
    for (;;) {
        worker->wake.wait(lock, [worker] { return worker->stopping || !worker->jobs.empty(); });
        if (worker->jobs.empty())
            return; // stopping, and everything posted ran
        Worker::Job job = std::move(worker->jobs.front());
        worker->jobs.pop_front();
        lock.unlock();
        waitWhileHeld(worker);
        job.run();
        job.run = nullptr;
        if (job.counted)
            stateThreadJobs.fetch_add(1, std::memory_order_relaxed);
        lock.lock();
    }
}
