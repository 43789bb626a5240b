// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The self-check's server: a thread that accepts WebSocket connections on 127.0.0.1,
// answers the upgrade and the join, and then writes the same block of ready-made frames
// to every connection, over and over, as fast as the sockets take them. The block holds
// small STATE_UPDATED messages with consecutive sequence numbers and, among them, one
// message with a 16-bit length, one with a 64-bit length, one in three fragments with a
// ping between them, and another ping: everything the load generator's reader must
// handle, at a rate no real server reaches.

#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace loadgen {

class FakeServer
{
public:
    // With `loseOne`, one message of every block is left out: a loss the load generator
    // must find.
    explicit FakeServer(bool loseOne = false);
    ~FakeServer();
    FakeServer(const FakeServer &) = delete;
    FakeServer &operator=(const FakeServer &) = delete;

    // Listens on 127.0.0.1 and port 0; false (with error()) when it cannot.
    bool listen();
    int port() const { return m_port; }
    // Messages per block: the sequence numbers go 0, 1, ... and start again after it.
    uint64_t messagesPerBlock() const { return m_messagesPerBlock; }
    void start();
    void stop();

    uint64_t pingsSent() const { return m_pingsSent.load(); }
    uint64_t pongsReceived() const { return m_pongsReceived.load(); }
    std::string error() const { return m_error; }

private:
    void buildBlock(bool loseOne);
    void run();

    int m_listener = -1;
    int m_port = 0;
    std::string m_block;
    uint64_t m_messagesPerBlock = 0;
    uint64_t m_pingsPerBlock = 0;
    std::atomic<bool> m_stop{false};
    std::atomic<uint64_t> m_pingsSent{0};
    std::atomic<uint64_t> m_pongsReceived{0};
    std::string m_error;
    std::thread m_thread;
};

} // namespace loadgen
