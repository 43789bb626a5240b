// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSTATETHREADS_P_H
#define QSTATESYNCSTATETHREADS_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesync_global.h"
#include "qstatesyncserverstate_p.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// A batch of a state's changes, merged on a copy of its value and encoded on a state
// thread. It carries copies only: nothing in it points into the server. Exported for
// the benchmark of the state threads alone (qstatesync-statebench).
struct Q_STATESYNC_EXPORT QStateSyncStateBatch
{
    struct Item
    {
        // In: the change, and how its sender is acknowledged.
        QStateSyncUpdateRequest::Kind kind = QStateSyncUpdateRequest::Update;
        QJsonObject changes;
        QJsonValue requestId = QJsonValue(QJsonValue::Undefined);
        enum class Acknowledgement { None, V1, V2 } acknowledgement = Acknowledgement::None;
        // Out: whether it applied, and if so what it made.
        QStateSyncServerState::ApplyResult result = QStateSyncServerState::ApplyResult::Applied;
        QString failedKey;
        qint64 version = 0;
        // What stateUpdated() carries: the changes, or for an append the whole new arrays.
        QJsonObject notified;
        QStateSyncEncodedChange encoded;
        bool applied() const { return result == QStateSyncServerState::ApplyResult::Applied; }
    };

    // In: the value the batch starts from, and the rules it is merged with.
    QJsonObject value;
    QStateSyncValueSizes sizes;
    qint64 version = 0;
    QStateSync::MergeMode mergeMode = QStateSync::MergeMode::Shallow;
    qint64 maxStateSize = 0;
    bool encodeV1 = false;
    bool encodeV2 = false;
    std::vector<Item> items;
    // Out: value, sizes and version are the state's after the batch.

    // Whoever claims the batch first runs it: its state thread, or the server's thread
    // when it cannot wait (finishThreadWork()). True for the first caller only.
    bool claim() { return !m_claimed.exchange(true); }
    // Merges and encodes every item in order, then marks the batch done; any thread.
    void run();
    // Blocks until run() has ended (on the thread it runs on).
    void waitUntilDone();
    // Set on the server's thread once the result is applied (it is applied once).
    bool committed = false;

private:
    std::mutex m_doneMutex;
    std::condition_variable m_doneCondition;
    bool m_done = false; // guarded by m_doneMutex
    std::atomic<bool> m_claimed{false};
};

// The threads that run the states' batches. A state keeps one thread and has one batch
// running at a time, so its batches run in order.
class Q_STATESYNC_EXPORT QStateSyncStateThreads
{
public:
    explicit QStateSyncStateThreads(int count);
    // Runs what was posted, then stops the threads.
    ~QStateSyncStateThreads();
    Q_DISABLE_COPY_MOVE(QStateSyncStateThreads)

    int count() const { return int(m_workers.size()); }
    // Runs job on thread index (0 to count() - 1), after what was posted to it before.
    void post(int index, std::function<void()> job);
    // Frees batch on thread index, unless something else still holds it.
    void dispose(int index, std::shared_ptr<QStateSyncStateBatch> batch);
    // How many jobs the state threads of every server ran since the process started: lets
    // the tests prove that the batches ran there.
    static quint64 jobsRun();
    static quint64 jobsPosted();
    // For tests: while held, the state threads of every server start no job, so that a
    // test can act while batches are certainly running. A server thread that waits for a
    // batch (finishThreadWork()) lets them go, as does a pool being destroyed.
    static void holdJobs(bool hold);

private:
    struct Worker
    {
        std::thread thread;
        std::mutex mutex;
        std::condition_variable wake;
        struct Job
        {
            std::function<void()> run;
            bool counted = true; // not a disposal
        };
        std::deque<Job> jobs; // guarded by mutex
        bool stopping = false; // guarded by mutex
        std::atomic<bool> released{false}; // stopping: held jobs run
    };
    static void waitWhileHeld(const Worker *worker);
    void enqueue(int index, Worker::Job job);
    static void work(Worker *worker);
    std::vector<std::unique_ptr<Worker>> m_workers;
};

#endif // QSTATESYNCSTATETHREADS_P_H
