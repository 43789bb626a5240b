// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The transport side of a Worker: connecting with a bounded number of handshakes, the
// HTTP upgrade, reading into the one big buffer and taking frames apart where they lie,
// control frames, and batched writes.

#include "worker.h"

#include "messages.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace loadgen {

namespace {

constexpr size_t MaxHttpAnswer = 16 * 1024;

bool startsWithNoCase(const char *text, size_t size, const char *prefix)
{
    const size_t length = std::strlen(prefix);
    return size >= length && strncasecmp(text, prefix, length) == 0;
}

// The value of the header `name` (lower case, with its colon) in an HTTP head, trimmed.
std::string headerValue(const std::string &head, const char *name)
{
    size_t lineStart = head.find("\r\n");
    while (lineStart != std::string::npos && lineStart + 2 < head.size()) {
        lineStart += 2;
        const size_t lineEnd = head.find("\r\n", lineStart);
        const size_t end = lineEnd == std::string::npos ? head.size() : lineEnd;
        if (startsWithNoCase(head.data() + lineStart, end - lineStart, name)) {
            size_t from = lineStart + std::strlen(name);
            while (from < end && (head[from] == ' ' || head[from] == '\t'))
                ++from;
            size_t to = end;
            while (to > from && (head[to - 1] == ' ' || head[to - 1] == '\t'))
                --to;
            return head.substr(from, to - from);
        }
        lineStart = lineEnd;
    }
    return {};
}

} // namespace

void Worker::watch(Connection &c, uint32_t events, bool add)
{
    epoll_event event{};
    event.events = events;
    event.data.u64 = uint64_t(&c - m_connections.data());
    if (epoll_ctl(m_epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &event) != 0)
        fail(c, std::string("epoll_ctl: ") + std::strerror(errno));
}

void Worker::startConnections()
{
    int limit = m_options.maxHandshakes / m_options.threads;
    if (limit < 1)
        limit = 1;
    while (m_handshakes < limit && m_nextToConnect < m_connections.size()
           && !m_shared.abort.load(std::memory_order_relaxed))
        startConnection(m_connections[m_nextToConnect++]);
}

void Worker::startConnection(Connection &c)
{
    ++m_handshakes;
    if (!m_stats.firstConnectNs)
        m_stats.firstConnectNs = monotonicNs();
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        fail(c, std::string("socket: ") + std::strerror(errno));
        return;
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(m_options.ports[c.portIndex]));
    inet_pton(AF_INET, m_options.host.c_str(), &address.sin_addr);
    if (::connect(c.fd, reinterpret_cast<sockaddr *>(&address), sizeof address) != 0
        && errno != EINPROGRESS) {
        fail(c, std::string("connect: ") + std::strerror(errno));
        return;
    }
    c.phase = Phase::Connecting;
    watch(c, EPOLLOUT, true);
}

void Worker::onConnected(Connection &c)
{
    int error = 0;
    socklen_t length = sizeof error;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error) {
        fail(c, std::string("connect: ") + std::strerror(error));
        return;
    }
    c.key = makeWebSocketKey(m_random);
    c.out = "GET /?identifier=lg" + std::to_string(c.id) + " HTTP/1.1\r\nHost: " + m_options.host
            + ":" + std::to_string(m_options.ports[c.portIndex])
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + c.key
            + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    c.outOffset = 0;
    c.phase = Phase::Handshake;
    watch(c, EPOLLIN, false);
    markDirty(c);
}

void Worker::onEvent(Connection &c, uint32_t events)
{
    if (c.phase == Phase::Closed)
        return;
    if (c.phase == Phase::Connecting) {
        onConnected(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        readFrom(c);
    if (c.phase != Phase::Closed && (events & EPOLLOUT))
        flush(c);
}

void Worker::readFrom(Connection &c)
{
    // A few reads at most, so that one busy connection does not starve the others.
    for (int round = 0; round < 4; ++round) {
        const ssize_t n = ::recv(c.fd, m_buffer.data(), m_buffer.size(), 0);
        if (n > 0) {
            m_now = monotonicNs();
            m_stats.bytesReceived += uint64_t(n);
            feed(c, m_buffer.data(), size_t(n));
            if (c.phase == Phase::Closed || size_t(n) < m_buffer.size())
                return;
        } else if (n == 0) {
            fail(c, "the server closed the connection");
            return;
        } else if (errno == EINTR) {
            continue;
        } else {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fail(c, std::string("recv: ") + std::strerror(errno));
            return;
        }
    }
}

bool Worker::handleHandshake(Connection &c)
{
    const size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (c.in.size() > MaxHttpAnswer)
            fail(c, "the HTTP answer has no end");
        return false;
    }
    const std::string head = c.in.substr(0, end + 2);
    c.in.erase(0, end + 4);
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
        fail(c, "the server answered the upgrade with: " + head.substr(0, head.find("\r\n")));
        return false;
    }
    if (headerValue(head, "sec-websocket-accept:") != acceptValueFor(c.key)) {
        fail(c, "wrong Sec-WebSocket-Accept");
        return false;
    }
    std::string().swap(c.key);
    c.phase = Phase::Joining;
    appendJoinFrame(c.out, m_shared.stateNames[c.stateIndex], m_random.next32());
    markDirty(c);
    return true;
}

void Worker::feed(Connection &c, char *data, size_t size)
{
    if (c.phase == Phase::Handshake) {
        c.in.append(data, size);
        size = 0;
        if (!handleHandshake(c))
            return;
    }
    // First finish the frame whose beginning came before, taking only its bytes.
    while (!c.in.empty()) {
        Frame frame;
        size_t needed = 0;
        std::string error;
        const ParseResult result
                = parseFrame(&c.in[0], c.in.size(), m_options.maxPayload, frame, needed, &error);
        if (result == ParseResult::Error) {
            fail(c, error);
            return;
        }
        if (result == ParseResult::Frame) {
            handleFrame(c, frame);
            if (c.phase == Phase::Closed)
                return;
            c.in.erase(0, needed);
            continue;
        }
        if (!size)
            return;
        const size_t take = needed - c.in.size() < size ? needed - c.in.size() : size;
        c.in.append(data, take);
        data += take;
        size -= take;
    }
    // Then every whole frame where it lies in the read buffer.
    size_t position = 0;
    while (position < size) {
        Frame frame;
        size_t consumed = 0;
        std::string error;
        const ParseResult result = parseFrame(data + position, size - position,
                                              m_options.maxPayload, frame, consumed, &error);
        if (result == ParseResult::Frame) {
            handleFrame(c, frame);
            if (c.phase == Phase::Closed)
                return;
            position += consumed;
        } else if (result == ParseResult::NeedMore) {
            c.in.assign(data + position, size - position);
            return;
        } else {
            fail(c, error);
            return;
        }
    }
}

void Worker::handleFrame(Connection &c, const Frame &frame)
{
    switch (frame.opcode) {
    case OpText:
    case OpBinary:
        if (c.inFragment) {
            fail(c, "a new message began inside a fragmented one");
            return;
        }
        if (frame.fin) {
            handleMessage(c, frame.payload, frame.size);
        } else {
            c.inFragment = true;
            c.fragment.assign(frame.payload, frame.size);
        }
        break;
    case OpContinuation:
        if (!c.inFragment) {
            fail(c, "a continuation frame without a message");
            return;
        }
        c.fragment.append(frame.payload, frame.size);
        if (frame.fin) {
            c.inFragment = false;
            handleMessage(c, c.fragment.data(), c.fragment.size());
            c.fragment.clear();
        }
        break;
    case OpPing:
        ++m_stats.pings;
        appendMaskedFrame(c.out, OpPong, frame.payload, frame.size, m_random.next32());
        markDirty(c);
        break;
    case OpPong:
        break;
    case OpClose: {
        int code = frame.size >= 2 ? (uint8_t(frame.payload[0]) << 8 | uint8_t(frame.payload[1]))
                                   : 1005;
        const std::string reason
                = frame.size > 2 ? std::string(frame.payload + 2, frame.size - 2) : std::string();
        fail(c, "the server closed the WebSocket with code " + std::to_string(code) + " " + reason);
        break;
    }
    default:
        fail(c, "unexpected opcode");
    }
}

void Worker::markDirty(Connection &c)
{
    if (!c.dirty) {
        c.dirty = true;
        m_dirty.push_back(uint32_t(&c - m_connections.data()));
    }
}

void Worker::flush(Connection &c)
{
    while (c.outOffset < c.out.size()) {
        const ssize_t n = ::send(c.fd, c.out.data() + c.outOffset, c.out.size() - c.outOffset,
                                 MSG_NOSIGNAL);
        if (n > 0) {
            c.outOffset += size_t(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c.pollingOut) {
                c.pollingOut = true;
                watch(c, EPOLLIN | EPOLLOUT, false);
            }
            return;
        } else {
            fail(c, std::string("send: ") + std::strerror(errno));
            return;
        }
    }
    c.out.clear();
    c.outOffset = 0;
    if (c.pollingOut) {
        c.pollingOut = false;
        watch(c, EPOLLIN, false);
    }
}

void Worker::flushDirty()
{
    for (const uint32_t index : m_dirty) {
        Connection &c = m_connections[index];
        c.dirty = false;
        if (c.phase != Phase::Closed && c.phase != Phase::Connecting && !c.pollingOut)
            flush(c);
    }
    m_dirty.clear();
}

} // namespace loadgen
