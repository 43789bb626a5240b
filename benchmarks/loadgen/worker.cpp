// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The scenario side of a Worker: who writes what, when the measured window opens and
// closes, what each received update means. The sockets and frames are in
// workertransport.cpp.

#include "worker.h"

#include "messages.h"
#include "procstats.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace loadgen {

namespace {

constexpr uint64_t TimerTag = UINT64_MAX;
// One buffer for every connection of the thread: a read takes whatever is there, and
// the frames are handled where they lie.
constexpr size_t ReadBufferSize = 512 * 1024;
constexpr size_t MaxErrorsKept = 10;

} // namespace

int64_t monotonicNs()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
}

Shared::Shared(const Options &options)
    : options(options)
    , finalSent(new std::atomic<uint64_t>[size_t(options.totalWriters > 0 ? options.totalWriters
                                                                          : 1)])
{
    for (int i = 0; i < (options.totalWriters > 0 ? options.totalWriters : 1); ++i)
        finalSent[size_t(i)].store(UINT64_MAX);
    if (options.scenario == Scenario::ManyStates) {
        for (int i = 0; i < options.states; ++i)
            stateNames.push_back(options.statePrefix + std::to_string(i));
    } else {
        stateNames.push_back(options.state);
    }
}

void WorkerStats::merge(const WorkerStats &other)
{
    latency.merge(other.latency);
    deliveriesMeasured += other.deliveriesMeasured;
    echoesMeasured += other.echoesMeasured;
    deliveries += other.deliveries;
    outOfOrder += other.outOfOrder;
    gaps += other.gaps;
    missing += other.missing;
    serverErrors += other.serverErrors;
    joined += other.joined;
    pings += other.pings;
    bytesReceived += other.bytesReceived;
    if (other.firstConnectNs && (!firstConnectNs || other.firstConnectNs < firstConnectNs))
        firstConnectNs = other.firstConnectNs;
    if (other.lastJoinNs > lastJoinNs)
        lastJoinNs = other.lastJoinNs;
    if (other.lastDeliveryNs > lastDeliveryNs)
        lastDeliveryNs = other.lastDeliveryNs;
    if (other.drainedNs > drainedNs)
        drainedNs = other.drainedNs;
    for (int i = 0; i < 2; ++i) {
        if (other.serverCpu[i] >= 0)
            serverCpu[i] = other.serverCpu[i];
        if (other.serverMainThreadCpu[i] >= 0)
            serverMainThreadCpu[i] = other.serverMainThreadCpu[i];
        if (other.ownCpu[i] >= 0)
            ownCpu[i] = other.ownCpu[i];
        if (other.machineCpu[i] >= 0)
            machineCpu[i] = other.machineCpu[i];
    }
    if (deliveriesPerPort.size() < other.deliveriesPerPort.size()) {
        deliveriesPerPort.resize(other.deliveriesPerPort.size(), 0);
        latencyPerPort.resize(other.latencyPerPort.size());
    }
    for (size_t i = 0; i < other.deliveriesPerPort.size(); ++i) {
        deliveriesPerPort[i] += other.deliveriesPerPort[i];
        latencyPerPort[i].merge(other.latencyPerPort[i]);
    }
    for (const std::string &error : other.errors) {
        if (errors.size() < MaxErrorsKept)
            errors.push_back(error);
    }
}

Worker::Worker(Shared &shared, int index)
    : m_shared(shared)
    , m_options(shared.options)
    , m_index(index)
    , m_random(randomSeed() + uint64_t(index))
    , m_buffer(ReadBufferSize)
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    const Options &o = m_options;
    if (o.ports.size() > 1) {
        m_stats.deliveriesPerPort.assign(o.ports.size(), 0);
        m_stats.latencyPerPort.resize(o.ports.size());
    }
    for (int id = index; id < o.totalClients; id += o.threads) {
        Connection c;
        c.id = uint32_t(id);
        c.portIndex = uint32_t(o.portIndexOf(id));
        switch (o.scenario) {
        case Scenario::Fanout:
        case Scenario::Latency:
        case Scenario::JoinStorm:
            c.writer = id == 0 ? 0 : -1;
            c.countsDeliveries = id != 0 || o.scenario == Scenario::JoinStorm;
            c.expected.assign(1, 0);
            break;
        case Scenario::ManyStates:
            c.stateIndex = uint32_t(id / o.clientsPerState);
            c.writer = id;
            c.writerBase = c.stateIndex * uint32_t(o.clientsPerState);
            c.expected.assign(size_t(o.clientsPerState), 0);
            break;
        case Scenario::SelfCheck:
            c.expected.assign(1, 0);
            break;
        }
        if (c.writer >= 0)
            m_writers.push_back(uint32_t(m_connections.size()));
        m_connections.push_back(std::move(c));
    }
    if (o.sendMode == SendMode::Paced && !m_writers.empty())
        m_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (m_timer >= 0) {
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.u64 = TimerTag;
        epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_timer, &event);
    }
    m_measureFromNs = INT64_MAX;
    m_stopNs = INT64_MAX;
}

Worker::~Worker()
{
    for (Connection &c : m_connections) {
        if (c.fd >= 0)
            ::close(c.fd);
    }
    if (m_timer >= 0)
        ::close(m_timer);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

void Worker::addError(const std::string &error)
{
    if (m_stats.errors.size() < MaxErrorsKept)
        m_stats.errors.push_back(error);
}

void Worker::fail(Connection &c, const std::string &why)
{
    if (c.phase == Phase::Closed)
        return;
    if (c.fd >= 0)
        ::close(c.fd);
    c.fd = -1;
    c.phase = Phase::Closed;
    addError("client " + std::to_string(c.id) + ": " + why);
    m_shared.abort.store(true);
}

void Worker::handleMessage(Connection &c, const char *text, size_t size)
{
    ServerMessage message;
    if (!readServerMessage(text, size, message)) {
        ++m_stats.serverErrors;
        addError("a message without a type: " + std::string(text, size < 120 ? size : 120));
        return;
    }
    switch (message.type) {
    case StateUpdated:
        if (message.stamped)
            handleUpdate(c, message.writer, message.sequence, message.sentNs);
        break;
    case StateConnectionEstablished:
        if (c.phase == Phase::Joining) {
            c.phase = Phase::Open;
            ++m_joined;
            m_stats.joined = m_joined;
            --m_handshakes;
            m_stats.lastJoinNs = m_now;
        }
        break;
    case StateConnectionError:
        fail(c, "the join was refused: " + errorMessageOf(text, size));
        break;
    default:
        ++m_stats.serverErrors;
        addError("client " + std::to_string(c.id) + " got message type "
                 + std::to_string(message.type) + ": " + errorMessageOf(text, size));
        break;
    }
}

void Worker::handleUpdate(Connection &c, uint32_t writer, uint64_t sequence, uint64_t sentNs)
{
    const uint64_t slot = uint64_t(writer) - c.writerBase;
    if (writer < c.writerBase || slot >= c.expected.size()) {
        ++m_stats.outOfOrder;
        addError("client " + std::to_string(c.id) + " got an update of writer "
                 + std::to_string(writer) + ", who is not in its state");
        return;
    }
    uint64_t &next = c.expected[slot];
    const uint64_t modulo = m_options.sequenceModulo;
    const uint64_t wanted = modulo ? next % modulo : next;
    if (sequence == wanted) {
        ++next;
    } else {
        // Count what was skipped and go on from the update that came, so that one loss
        // is counted once; an older update (a duplicate) only counts as out of order.
        ++m_stats.outOfOrder;
        if (modulo) {
            const uint64_t skipped = (sequence + modulo - wanted) % modulo;
            m_stats.gaps += skipped;
            next += skipped + 1;
        } else if (sequence > wanted) {
            m_stats.gaps += sequence - wanted;
            next = sequence + 1;
        }
    }
    ++m_stats.deliveries;
    m_stats.lastDeliveryNs = m_now;
    const bool measured = m_now >= m_measureFromNs && m_now < m_stopNs;
    if (measured && c.countsDeliveries) {
        ++m_stats.deliveriesMeasured;
        if (sentNs)
            m_stats.latency.record(uint64_t(m_now - int64_t(sentNs)));
        if (!m_stats.deliveriesPerPort.empty()) {
            ++m_stats.deliveriesPerPort[c.portIndex];
            if (sentNs)
                m_stats.latencyPerPort[c.portIndex].record(uint64_t(m_now - int64_t(sentNs)));
        }
    }
    if (int64_t(writer) == c.writer) {
        ++c.acked;
        if (measured)
            ++m_stats.echoesMeasured;
        if (m_options.sendMode == SendMode::Window && m_stage == Stage::Running)
            fillWindow(c);
    }
}

void Worker::sendUpdate(Connection &c, uint64_t sentNs)
{
    appendUpdateFrame(c.out, uint32_t(c.writer), c.sent, sentNs, m_options.payload,
                      m_random.next32());
    ++c.sent;
    markDirty(c);
}

void Worker::fillWindow(Connection &c)
{
    const uint64_t window = uint64_t(m_options.window);
    const uint64_t limit = m_options.updates > 0 ? uint64_t(m_options.updates) : UINT64_MAX;
    while (c.sent - c.acked < window && c.sent < limit && m_now < m_stopNs)
        sendUpdate(c, uint64_t(m_now));
}

void Worker::armTimer(int64_t atNs)
{
    itimerspec spec{};
    spec.it_value.tv_sec = atNs / 1000000000;
    spec.it_value.tv_nsec = atNs % 1000000000;
    timerfd_settime(m_timer, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Worker::sendPaced()
{
    Connection &c = m_connections[m_writers.front()];
    const uint64_t limit = m_options.updates > 0 ? uint64_t(m_options.updates) : UINT64_MAX;
    // The time each update was due is its stamp, so a late send shows as latency instead
    // of hiding it (no coordinated omission).
    while (m_nextPacedNs <= m_now && m_nextPacedNs < m_stopNs && c.sent < limit) {
        sendUpdate(c, uint64_t(m_nextPacedNs));
        ++m_pacedIndex;
        m_nextPacedNs = m_startNs + int64_t(double(m_pacedIndex) * 1e9 / m_options.rate);
    }
    armTimer(m_nextPacedNs);
}

void Worker::startRunning()
{
    m_startNs = m_shared.startNs.load();
    const Options &o = m_options;
    if (o.updates > 0 || o.sendMode == SendMode::Burst) {
        m_measureFromNs = m_startNs;
        m_stopNs = INT64_MAX;
        m_deadlineNs = m_startNs + int64_t(o.connectTimeout * 1e9);
    } else {
        m_measureFromNs = m_startNs + int64_t(o.warmup * 1e9);
        m_stopNs = m_measureFromNs + int64_t(o.duration * 1e9);
    }
    m_stage = Stage::Running;
    m_now = monotonicNs();
    switch (o.sendMode) {
    case SendMode::Window:
        for (const uint32_t index : m_writers)
            fillWindow(m_connections[index]);
        break;
    case SendMode::Paced:
        if (!m_writers.empty()) {
            m_nextPacedNs = m_startNs;
            sendPaced();
        }
        break;
    case SendMode::Burst:
        for (const uint32_t index : m_writers) {
            for (int i = 0; i < o.stormUpdates; ++i)
                sendUpdate(m_connections[index], uint64_t(m_now));
        }
        stopWriters();
        break;
    case SendMode::None:
        break;
    }
}

void Worker::stopWriters()
{
    for (const uint32_t index : m_writers) {
        const Connection &c = m_connections[index];
        m_shared.finalSent[size_t(c.writer)].store(c.sent);
        m_shared.stoppedWriters.fetch_add(1);
    }
    if (m_index == 0 && m_stopNs != INT64_MAX)
        sampleCpu(1);
    m_stage = Stage::Draining;
    m_deadlineNs = m_now + int64_t(m_options.drainTimeout * 1e9);
}

bool Worker::drained()
{
    if (m_shared.stoppedWriters.load() < m_options.totalWriters)
        return false;
    for (; m_drainCursor < m_connections.size(); ++m_drainCursor) {
        const Connection &c = m_connections[m_drainCursor];
        for (size_t slot = 0; slot < c.expected.size(); ++slot) {
            if (m_options.totalWriters == 0)
                break;
            if (c.expected[slot] < m_shared.finalSent[c.writerBase + slot].load())
                return false;
        }
    }
    return true;
}

void Worker::sampleCpu(int which)
{
    if (!m_options.serverPids.empty()) {
        m_stats.serverCpu[which] = processesCpuSeconds(m_options.serverPids);
        m_stats.serverMainThreadCpu[which] = mainThreadCpuSeconds(m_options.serverPids.front());
    }
    // The self-check's fake server is a thread of this process: leave its time out.
    m_stats.ownCpu[which] = ownCpuSeconds(m_options.scenario == Scenario::SelfCheck);
    m_stats.machineCpu[which] = machineBusySeconds();
}

void Worker::step()
{
    const Options &o = m_options;
    switch (m_stage) {
    case Stage::Connecting:
        startConnections();
        if (size_t(m_joined) == m_connections.size()) {
            m_stage = Stage::WaitingForStart;
            if (m_shared.joinedWorkers.fetch_add(1) + 1 == o.threads) {
                if (o.scenario == Scenario::JoinStorm && !o.serverPids.empty())
                    m_shared.rssJoinedKiB.store(processesRssKiB(o.serverPids));
                m_shared.startNs.store(monotonicNs());
            }
        } else if (m_now > m_deadlineNs) {
            addError("only " + std::to_string(m_joined) + " of "
                     + std::to_string(m_connections.size()) + " clients of thread "
                     + std::to_string(m_index) + " joined within "
                     + std::to_string(int(o.connectTimeout)) + " s");
            m_shared.abort.store(true);
        }
        break;
    case Stage::WaitingForStart:
        if (m_shared.startNs.load())
            startRunning();
        break;
    case Stage::Running:
        if (m_index == 0 && m_stats.serverCpu[0] < 0 && m_stats.ownCpu[0] < 0
            && m_now >= m_measureFromNs)
            sampleCpu(0);
        if (o.updates > 0) {
            bool done = true;
            for (const uint32_t index : m_writers)
                done = done && m_connections[index].sent >= uint64_t(o.updates);
            if (done)
                stopWriters();
            else if (m_now > m_deadlineNs)
                stopWriters();
        } else if (m_now >= m_stopNs) {
            stopWriters();
        }
        break;
    case Stage::Draining:
        if (drained()) {
            m_stats.drainedNs = m_now;
            if (m_index == 0 && m_stopNs == INT64_MAX)
                sampleCpu(1);
            m_stage = Stage::Done;
        } else if (m_now > m_deadlineNs) {
            for (const Connection &c : m_connections) {
                for (size_t slot = 0; slot < c.expected.size() && o.totalWriters; ++slot) {
                    const uint64_t final = m_shared.finalSent[c.writerBase + slot].load();
                    if (final != UINT64_MAX && c.expected[slot] < final)
                        m_stats.missing += final - c.expected[slot];
                }
            }
            addError("thread " + std::to_string(m_index) + ": " + std::to_string(m_stats.missing)
                     + " updates had not arrived " + std::to_string(int(o.drainTimeout))
                     + " s after the writers stopped");
            m_stage = Stage::Done;
        }
        break;
    case Stage::Done:
        break;
    }
}

int Worker::timeoutMs() const
{
    if (m_stage == Stage::WaitingForStart)
        return 1;
    return 5;
}

void Worker::run()
{
    epoll_event events[512];
    m_deadlineNs = monotonicNs() + int64_t(m_options.connectTimeout * 1e9);
    while (m_stage != Stage::Done && !m_shared.abort.load(std::memory_order_relaxed)) {
        m_now = monotonicNs();
        step();
        flushDirty();
        if (m_stage == Stage::Done)
            break;
        const int count = epoll_wait(m_epoll, events, 512, timeoutMs());
        m_now = monotonicNs();
        for (int i = 0; i < count; ++i) {
            if (events[i].data.u64 == TimerTag) {
                uint64_t expirations;
                if (::read(m_timer, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
                    addError(std::string("timerfd: ") + std::strerror(errno));
                if (m_stage == Stage::Running)
                    sendPaced();
                continue;
            }
            onEvent(m_connections[size_t(events[i].data.u64)], events[i].events);
        }
        flushDirty();
    }
}

} // namespace loadgen
