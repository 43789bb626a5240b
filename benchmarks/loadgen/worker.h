// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// One thread of the load generator: its share of the clients, one epoll instance, one
// big read buffer. Clients connect (at most a bounded number in their handshake at
// once), join, and then the scenario's writers send while every client checks that the
// updates of its state's writers arrive complete and in order.

#pragma once

#include "histogram.h"
#include "options.h"
#include "websocket.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace loadgen {

int64_t monotonicNs();

// What the threads share. Written with atomics only.
struct Shared
{
    explicit Shared(const Options &options);

    const Options &options;
    std::vector<std::string> stateNames;
    std::atomic<int> joinedWorkers{0};
    std::atomic<int64_t> startNs{0};
    std::atomic<bool> abort{false};
    std::atomic<int> stoppedWriters{0};
    // Per writer: how many updates it sent in all, once it stopped; UINT64_MAX before.
    std::unique_ptr<std::atomic<uint64_t>[]> finalSent;
    // Readings of the server process (joinstorm), KiB; -1 when not read.
    std::atomic<int64_t> rssBeforeKiB{-1};
    std::atomic<int64_t> rssJoinedKiB{-1};
};

struct WorkerStats
{
    Histogram latency;
    uint64_t deliveriesMeasured = 0; // counted deliveries received in the measured window
    uint64_t echoesMeasured = 0; // writers' own updates back in the window
    uint64_t deliveries = 0; // every stamped update received
    uint64_t outOfOrder = 0;
    uint64_t gaps = 0; // updates skipped over by a later one
    uint64_t missing = 0; // updates that had not arrived when the run ended
    uint64_t serverErrors = 0;
    int64_t joined = 0; // clients whose join was answered
    uint64_t pings = 0;
    uint64_t bytesReceived = 0;
    int64_t firstConnectNs = 0;
    int64_t lastJoinNs = 0;
    int64_t lastDeliveryNs = 0;
    int64_t drainedNs = 0; // when every client of this worker had every update
    // CPU seconds (of the server, and of this process) at the window's start and end.
    double serverCpu[2] = {-1, -1};
    double serverMainThreadCpu[2] = {-1, -1}; // of the first server only
    double ownCpu[2] = {-1, -1};
    double machineCpu[2] = {-1, -1};
    // With several servers (--ports): the measured deliveries and their latencies per
    // server, in the order of Options::ports; empty with one server.
    std::vector<uint64_t> deliveriesPerPort;
    std::vector<Histogram> latencyPerPort;
    std::vector<std::string> errors;

    void merge(const WorkerStats &other);
};

class Worker
{
public:
    Worker(Shared &shared, int index);
    ~Worker();
    Worker(const Worker &) = delete;
    Worker &operator=(const Worker &) = delete;

    // Runs the scenario to its end (or abort); the connections stay open until the
    // Worker is destroyed.
    void run();
    const WorkerStats &stats() const { return m_stats; }

private:
    enum class Phase : uint8_t { Idle, Connecting, Handshake, Joining, Open, Closed };
    enum class Stage { Connecting, WaitingForStart, Running, Draining, Done };

    struct Connection
    {
        int fd = -1;
        uint32_t id = 0;
        Phase phase = Phase::Idle;
        bool pollingOut = false;
        bool dirty = false;
        bool inFragment = false;
        bool countsDeliveries = true;
        bool complete = false;
        uint32_t stateIndex = 0;
        uint32_t portIndex = 0; // in Options::ports
        int64_t writer = -1; // this client's writer number, or -1
        uint32_t writerBase = 0; // the first writer of its state
        uint64_t sent = 0;
        uint64_t acked = 0;
        std::vector<uint64_t> expected; // per writer of its state: the next sequence
        std::string key;
        std::string in; // a frame (or the HTTP answer) that has not completely arrived
        std::string fragment;
        std::string out;
        size_t outOffset = 0;
    };

    void addError(const std::string &error);
    void fail(Connection &connection, const std::string &why);
    void startConnections();
    void startConnection(Connection &connection);
    void onEvent(Connection &connection, uint32_t events);
    void onConnected(Connection &connection);
    void readFrom(Connection &connection);
    void feed(Connection &connection, char *data, size_t size);
    bool handleHandshake(Connection &connection);
    void handleFrame(Connection &connection, const Frame &frame);
    void handleMessage(Connection &connection, const char *text, size_t size);
    void handleUpdate(Connection &connection, uint32_t writer, uint64_t sequence, uint64_t sentNs);
    void markDirty(Connection &connection);
    void flush(Connection &connection);
    void flushDirty();
    void watch(Connection &connection, uint32_t events, bool add);

    void startRunning();
    void sendUpdate(Connection &connection, uint64_t sentNs);
    void fillWindow(Connection &connection);
    void sendPaced();
    void armTimer(int64_t atNs);
    void stopWriters();
    bool drained();
    void sampleCpu(int which);
    int timeoutMs() const;
    void step();

    Shared &m_shared;
    const Options &m_options;
    int m_index;
    int m_epoll = -1;
    int m_timer = -1;
    Random m_random;
    std::vector<Connection> m_connections;
    std::vector<uint32_t> m_writers; // indexes into m_connections
    std::vector<uint32_t> m_dirty;
    std::vector<char> m_buffer;
    WorkerStats m_stats;
    Stage m_stage = Stage::Connecting;
    size_t m_nextToConnect = 0;
    int m_handshakes = 0;
    int m_joined = 0;
    size_t m_drainCursor = 0;
    int64_t m_now = 0;
    int64_t m_startNs = 0;
    int64_t m_measureFromNs = 0;
    int64_t m_stopNs = 0;
    int64_t m_deadlineNs = 0;
    int64_t m_nextPacedNs = 0;
    uint64_t m_pacedIndex = 0;
    std::string m_request; // the HTTP request, with the key and identifier to fill in
};

} // namespace loadgen
