// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "fakeserver.h"

#include "messages.h"
#include "serverside.h"
#include "websocket.h"

#include <cerrno>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace loadgen {

namespace {

struct Peer
{
    int fd = -1;
    bool open = false; // the upgrade is answered
    std::string in;
    size_t blockOffset = 0;
};

} // namespace

FakeServer::FakeServer(bool loseOne)
{
    buildBlock(loseOne);
}

FakeServer::~FakeServer()
{
    stop();
    if (m_listener >= 0)
        ::close(m_listener);
}

void FakeServer::buildBlock(bool loseOne)
{
    uint64_t sequence = 0;
    auto addMessage = [&](size_t payload) {
        const std::string text = serverUpdateText(0, sequence++, 0, payload);
        appendServerFrame(m_block, OpText, true, text.data(), text.size());
    };
    for (int i = 0; i < 2000; ++i) {
        if (i == 500) {
            addMessage(300); // 16-bit length
        } else if (i == 1000) {
            addMessage(70000); // 64-bit length
        } else if (i == 1500) {
            const std::string text = serverUpdateText(0, sequence++, 0, 200);
            const size_t third = text.size() / 3;
            appendServerFrame(m_block, OpText, false, text.data(), third);
            appendServerFrame(m_block, OpPing, true, "f", 1);
            appendServerFrame(m_block, OpContinuation, false, text.data() + third, third);
            appendServerFrame(m_block, OpContinuation, true, text.data() + 2 * third,
                              text.size() - 2 * third);
        } else if (i == 700 && loseOne) {
            ++sequence; // written, as it were, but never sent
        } else {
            addMessage(64);
        }
    }
    appendServerFrame(m_block, OpPing, true, "p", 1);
    m_messagesPerBlock = sequence;
    m_pingsPerBlock = 2;
}

bool FakeServer::listen()
{
    m_listener = listenOnLoopback(0, m_port, m_error);
    if (m_listener < 0) {
        m_error = "fake server: " + m_error;
        return false;
    }
    return true;
}

void FakeServer::start()
{
    m_thread = std::thread([this] { run(); });
}

void FakeServer::stop()
{
    m_stop.store(true);
    if (m_thread.joinable())
        m_thread.join();
}

void FakeServer::run()
{
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = UINT64_MAX;
    epoll_ctl(epoll, EPOLL_CTL_ADD, m_listener, &event);
    std::vector<std::unique_ptr<Peer>> peers;
    std::vector<char> buffer(64 * 1024);
    const std::string joined = "{\"type\":7,\"data\":{\"state\":{}}}";
    epoll_event events[256];

    while (!m_stop.load(std::memory_order_relaxed)) {
        const int count = epoll_wait(epoll, events, 256, 10);
        for (int i = 0; i < count; ++i) {
            if (events[i].data.u64 == UINT64_MAX) {
                for (;;) {
                    const int fd
                            = ::accept4(m_listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    const int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    auto peer = std::make_unique<Peer>();
                    peer->fd = fd;
                    epoll_event peerEvent{};
                    peerEvent.events = EPOLLIN;
                    peerEvent.data.u64 = peers.size();
                    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &peerEvent);
                    peers.push_back(std::move(peer));
                }
                continue;
            }
            Peer &peer = *peers[size_t(events[i].data.u64)];
            if (peer.fd < 0)
                continue;
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                const ssize_t n = ::recv(peer.fd, buffer.data(), buffer.size(), 0);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                    ::close(peer.fd); // also leaves the epoll set
                    peer.fd = -1;
                    continue;
                }
                if (n > 0)
                    peer.in.append(buffer.data(), size_t(n));
                if (!peer.open) {
                    std::string answer;
                    size_t requestSize = 0;
                    std::string error;
                    const UpgradeResult upgrade
                            = answerUpgrade(peer.in, answer, requestSize, error);
                    if (upgrade == UpgradeResult::NeedMore)
                        continue;
                    if (upgrade == UpgradeResult::Error) {
                        m_error = "fake server: " + error;
                        ::close(peer.fd);
                        peer.fd = -1;
                        continue;
                    }
                    appendServerFrame(answer, OpText, true, joined.data(), joined.size());
                    // Small enough for an empty socket buffer to take at once.
                    if (::send(peer.fd, answer.data(), answer.size(), MSG_NOSIGNAL)
                        != ssize_t(answer.size())) {
                        m_error = "fake server: could not answer the upgrade";
                        continue;
                    }
                    peer.in.erase(0, requestSize);
                    peer.open = true;
                    epoll_event peerEvent{};
                    peerEvent.events = EPOLLIN | EPOLLOUT;
                    peerEvent.data.u64 = events[i].data.u64;
                    epoll_ctl(epoll, EPOLL_CTL_MOD, peer.fd, &peerEvent);
                }
                // Count the pongs among the client's frames (its join, its pongs).
                size_t position = 0;
                for (;;) {
                    Frame frame;
                    size_t consumed = 0;
                    if (parseFrame(&peer.in[0] + position, peer.in.size() - position, 1 << 20,
                                   frame, consumed, nullptr)
                        != ParseResult::Frame)
                        break;
                    if (frame.opcode == OpPong)
                        m_pongsReceived.fetch_add(1, std::memory_order_relaxed);
                    position += consumed;
                }
                peer.in.erase(0, position);
            }
            if (peer.open && (events[i].events & EPOLLOUT)) {
                // Up to a few blocks per turn, so that every connection gets its share.
                size_t written = 0;
                while (written < 4 * m_block.size()) {
                    const ssize_t n = ::send(peer.fd, m_block.data() + peer.blockOffset,
                                             m_block.size() - peer.blockOffset, MSG_NOSIGNAL);
                    if (n <= 0)
                        break;
                    written += size_t(n);
                    peer.blockOffset += size_t(n);
                    if (peer.blockOffset == m_block.size()) {
                        peer.blockOffset = 0;
                        m_pingsSent.fetch_add(m_pingsPerBlock, std::memory_order_relaxed);
                    }
                }
            }
        }
    }
    for (const auto &peer : peers) {
        if (peer->fd >= 0)
            ::close(peer->fd);
    }
    ::close(epoll);
}

} // namespace loadgen
