// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// One thread of the bare relay (relay.h): its own epoll set and its own share of the
// connections, which no other thread touches. Other threads reach it only through its
// inbox (a mutex-protected list and an eventfd): new connections to adopt, and
// broadcasts to send to its own clients of a state.

#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace loadgen {

// An update as every client of its state receives it: framed once, shared by all threads.
struct RelayBroadcast
{
    std::string state;
    std::string frame;
};

class RelayThread
{
public:
    // `all` holds every thread of the relay, this one included; `listener` is the
    // listening socket when this thread accepts (and hands the new connections to the
    // threads in turn), else -1.
    RelayThread(const std::vector<std::unique_ptr<RelayThread>> &all, int listener);
    ~RelayThread();
    RelayThread(const RelayThread &) = delete;
    RelayThread &operator=(const RelayThread &) = delete;

    // False, with error(), when the epoll set or the eventfd could not be made.
    bool setUp();
    void run();

    // From any thread.
    void adopt(int fd, uint64_t id);
    void post(const std::shared_ptr<const RelayBroadcast> &broadcast);
    void stop();

    std::string error() const { return m_error; }
    // How often a socket did not take a whole frame at once, so that the rest waited in
    // the connection's pending buffer (read once the thread has ended).
    uint64_t backlogs() const { return m_backlogs; }

private:
    struct Connection;
    using Members = std::vector<Connection *>;

    void wake();
    void takeInbox();
    void acceptAll();
    void add(int fd, uint64_t id);
    void readFrom(Connection &c);
    bool handleFrame(Connection &c, uint8_t opcode, bool fin, const char *payload, size_t size);
    bool handleMessage(Connection &c, const char *text, size_t size);
    void join(Connection &c, std::string state);
    void leave(Connection &c);
    void deliver(const RelayBroadcast &broadcast);
    void send(Connection &c, const char *data, size_t size);
    void flush(Connection &c);
    void watchWrites(Connection &c, bool on);
    void fail(Connection &c, uint16_t code, const std::string &reason);
    void condemn(Connection &c);
    void closeCondemned();

    const std::vector<std::unique_ptr<RelayThread>> &m_all;
    const int m_listener;
    int m_epoll = -1;
    int m_wakeFd = -1;
    std::atomic<bool> m_stop{false};
    std::string m_error;

    std::mutex m_inboxMutex;
    std::vector<std::pair<int, uint64_t>> m_inboxConnections;
    std::vector<std::shared_ptr<const RelayBroadcast>> m_inboxBroadcasts;

    // Owned here; each knows its index in m_connections and in its state's members.
    std::vector<std::unique_ptr<Connection>> m_connections;
    std::unordered_map<std::string, Members> m_states;
    std::vector<Connection *> m_condemned;
    std::vector<char> m_buffer;
    std::string m_established;
    size_t m_nextThread = 0;
    uint64_t m_nextId = 0;
    uint64_t m_backlogs = 0;
    bool m_acceptFailed = false;
};

} // namespace loadgen
