// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "relaythread.h"

#include "messages.h"
#include "serverside.h"
#include "websocket.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace loadgen {

namespace {

// Tags of the epoll set's two descriptors that are not connections (whose tag is the
// address of their Connection).
constexpr uint64_t WakeTag = 0;
constexpr uint64_t ListenerTag = 1;

constexpr size_t MaxMessageSize = size_t(1) << 20;
// What a client that does not read may leave unsent before it is dropped (with a line on
// standard error, so that no update is lost silently).
constexpr size_t MaxPendingSize = size_t(64) << 20;

void say(const std::string &text)
{
    std::fprintf(stderr, "qstatesync-loadgen relay: %s\n", text.c_str());
}

} // namespace

struct RelayThread::Connection
{
    int fd = -1;
    uint64_t id = 0;
    size_t index = 0; // in m_connections
    bool open = false; // the upgrade is answered
    bool condemned = false; // closed at the end of this turn of the loop
    bool watchingWrites = false;
    std::string in;
    // What the socket has not taken yet: the bytes from pendingAt on.
    std::string pending;
    size_t pendingAt = 0;
    // A message in fragments, so far.
    std::string message;
    bool inMessage = false;
    // Its state's clients on this thread, the state's name, and its place among them.
    Members *members = nullptr;
    const std::string *state = nullptr;
    size_t memberIndex = 0;
};

RelayThread::RelayThread(const std::vector<std::unique_ptr<RelayThread>> &all, int listener)
    : m_all(all)
    , m_listener(listener)
    , m_buffer(64 * 1024)
{
    const std::string joined = "{\"type\":7,\"data\":{\"state\":{}}}";
    appendServerFrame(m_established, OpText, true, joined.data(), joined.size());
}

RelayThread::~RelayThread()
{
    for (const auto &c : m_connections)
        ::close(c->fd);
    for (const auto &[fd, id] : m_inboxConnections) // accepted as the relay stopped
        ::close(fd);
    if (m_wakeFd >= 0)
        ::close(m_wakeFd);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

bool RelayThread::setUp()
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m_epoll < 0 || m_wakeFd < 0) {
        m_error = std::string("epoll or eventfd: ") + std::strerror(errno);
        return false;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = WakeTag;
    bool ok = epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event) == 0;
    if (ok && m_listener >= 0) {
        event.data.u64 = ListenerTag;
        ok = epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listener, &event) == 0;
    }
    if (!ok)
        m_error = std::string("epoll_ctl: ") + std::strerror(errno);
    return ok;
}

void RelayThread::run()
{
    epoll_event events[256];
    bool acceptPaused = false;
    while (!m_stop.load(std::memory_order_acquire)) {
        // Out of descriptors, the listener stays out of the set for a tenth of a second
        // (it would wake the loop again at once, every time).
        const int count = epoll_wait(m_epoll, events, 256, acceptPaused ? 100 : -1);
        if (count < 0 && errno != EINTR) {
            say(std::string("epoll_wait: ") + std::strerror(errno));
            break;
        }
        if (acceptPaused) {
            epoll_event event{};
            event.events = EPOLLIN;
            event.data.u64 = ListenerTag;
            epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listener, &event);
            acceptPaused = false;
        }
        for (int i = 0; i < count; ++i) {
            const uint64_t tag = events[i].data.u64;
            if (tag == WakeTag) {
                takeInbox();
            } else if (tag == ListenerTag) {
                acceptAll();
                if (m_acceptFailed) {
                    epoll_ctl(m_epoll, EPOLL_CTL_DEL, m_listener, nullptr);
                    acceptPaused = true;
                }
            } else {
                Connection &c = *reinterpret_cast<Connection *>(uintptr_t(tag));
                if (!c.condemned && (events[i].events & EPOLLOUT))
                    flush(c);
                if (!c.condemned && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                    readFrom(c);
            }
        }
        closeCondemned();
    }
    // Stopping: every client is told, as far as its socket takes it at once.
    std::string goingAway;
    const char code[] = "\x03\xe9the relay is stopping"; // 1001
    appendServerFrame(goingAway, OpClose, true, code, sizeof code - 1);
    for (const auto &c : m_connections) {
        if (c->open)
            send(*c, goingAway.data(), goingAway.size());
        condemn(*c);
    }
    closeCondemned();
}

void RelayThread::wake()
{
    const uint64_t one = 1;
    if (::write(m_wakeFd, &one, sizeof one) < 0 && errno != EAGAIN)
        say(std::string("eventfd: ") + std::strerror(errno));
}

void RelayThread::adopt(int fd, uint64_t id)
{
    bool wasEmpty;
    {
        std::lock_guard<std::mutex> lock(m_inboxMutex);
        wasEmpty = m_inboxConnections.empty() && m_inboxBroadcasts.empty();
        m_inboxConnections.emplace_back(fd, id);
    }
    // takeInbox() reads the eventfd before it empties the inbox, so one wake-up per
    // filling of an empty inbox is enough.
    if (wasEmpty)
        wake();
}

void RelayThread::post(const std::shared_ptr<const RelayBroadcast> &broadcast)
{
    bool wasEmpty;
    {
        std::lock_guard<std::mutex> lock(m_inboxMutex);
        wasEmpty = m_inboxConnections.empty() && m_inboxBroadcasts.empty();
        m_inboxBroadcasts.push_back(broadcast);
    }
    if (wasEmpty)
        wake();
}

void RelayThread::stop()
{
    m_stop.store(true, std::memory_order_release);
    wake();
}

void RelayThread::takeInbox()
{
    uint64_t count;
    if (::read(m_wakeFd, &count, sizeof count) < 0 && errno != EAGAIN)
        say(std::string("eventfd: ") + std::strerror(errno));
    std::vector<std::pair<int, uint64_t>> connections;
    std::vector<std::shared_ptr<const RelayBroadcast>> broadcasts;
    {
        std::lock_guard<std::mutex> lock(m_inboxMutex);
        connections.swap(m_inboxConnections);
        broadcasts.swap(m_inboxBroadcasts);
    }
    for (const auto &[fd, id] : connections)
        add(fd, id);
    // In the order they were posted: one writer's updates stay in order.
    for (const auto &broadcast : broadcasts)
        deliver(*broadcast);
}

void RelayThread::acceptAll()
{
    m_acceptFailed = false;
    for (;;) {
        const int fd = ::accept4(m_listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                say(std::string("accept: ") + std::strerror(errno));
                m_acceptFailed = true;
            }
            return;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        // In turn, so that every thread has the same share (to one connection).
        RelayThread &thread = *m_all[m_nextThread++ % m_all.size()];
        if (&thread == this)
            add(fd, ++m_nextId);
        else
            thread.adopt(fd, ++m_nextId);
    }
}

void RelayThread::add(int fd, uint64_t id)
{
    auto c = std::make_unique<Connection>();
    c->fd = fd;
    c->id = id;
    c->index = m_connections.size();
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = uint64_t(reinterpret_cast<uintptr_t>(c.get()));
    if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event) != 0) {
        say("connection " + std::to_string(id) + ": epoll_ctl: " + std::strerror(errno));
        ::close(fd);
        return;
    }
    m_connections.push_back(std::move(c));
}

void RelayThread::readFrom(Connection &c)
{
    const ssize_t n = ::recv(c.fd, m_buffer.data(), m_buffer.size(), 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        if (n < 0 && errno != ECONNRESET)
            say("connection " + std::to_string(c.id) + ": recv: " + std::strerror(errno));
        condemn(c); // closed by the client
        return;
    }
    c.in.append(m_buffer.data(), size_t(n));
    if (!c.open) {
        std::string answer;
        size_t requestSize = 0;
        std::string error;
        const UpgradeResult upgrade = answerUpgrade(c.in, answer, requestSize, error);
        if (upgrade == UpgradeResult::NeedMore)
            return;
        if (upgrade == UpgradeResult::Error) {
            say("connection " + std::to_string(c.id) + " closed: " + error);
            condemn(c);
            return;
        }
        c.open = true;
        c.in.erase(0, requestSize);
        send(c, answer.data(), answer.size());
    }
    size_t position = 0;
    while (!c.condemned) {
        Frame frame;
        size_t consumed = 0;
        std::string error;
        const ParseResult result = parseFrame(&c.in[0] + position, c.in.size() - position,
                                              MaxMessageSize, frame, consumed, &error);
        if (result == ParseResult::NeedMore)
            break;
        if (result == ParseResult::Error) {
            fail(c, 1002, error);
            break;
        }
        position += consumed;
        if (!handleFrame(c, frame.opcode, frame.fin, frame.payload, frame.size))
            break;
    }
    c.in.erase(0, position);
}

bool RelayThread::handleFrame(Connection &c, uint8_t opcode, bool fin, const char *payload,
                              size_t size)
{
    switch (opcode) {
    case OpPing: {
        std::string pong;
        appendServerFrame(pong, OpPong, true, payload, size);
        send(c, pong.data(), pong.size());
        return !c.condemned;
    }
    case OpPong:
        return true;
    case OpClose: {
        // The answer carries the client's status code back (RFC 6455, 5.5.1).
        std::string reply;
        appendServerFrame(reply, OpClose, true, payload, size >= 2 ? 2 : 0);
        send(c, reply.data(), reply.size());
        condemn(c);
        return false;
    }
    case OpBinary:
        fail(c, 1003, "a binary message (v1 messages are text)");
        return false;
    case OpText:
        if (c.inMessage) {
            fail(c, 1002, "a new message inside a fragmented one");
            return false;
        }
        if (fin)
            return handleMessage(c, payload, size);
        c.inMessage = true;
        c.message.assign(payload, size);
        return true;
    default: // OpContinuation
        if (!c.inMessage) {
            fail(c, 1002, "a continuation frame outside a message");
            return false;
        }
        if (c.message.size() + size > MaxMessageSize) {
            fail(c, 1009, "a message of more than 1 MiB");
            return false;
        }
        c.message.append(payload, size);
        if (!fin)
            return true;
        c.inMessage = false;
        const std::string whole = std::move(c.message);
        c.message.clear();
        return handleMessage(c, whole.data(), whole.size());
    }
}

bool RelayThread::handleMessage(Connection &c, const char *text, size_t size)
{
    ClientMessage message;
    if (!readClientMessage(text, size, message)) {
        fail(c, 1007,
             "a message without a readable \"type\": " + std::string(text, size < 80 ? size : 80));
        return false;
    }
    switch (message.type) {
    case ConnectToState:
        if (!message.state) {
            fail(c, 1008, "CONNECT_TO_STATE without a stateIdentifier");
            return false;
        }
        join(c, std::string(message.state, message.stateSize));
        send(c, m_established.data(), m_established.size());
        return !c.condemned;
    case UpdateState: {
        if (!c.members) {
            fail(c, 1008, "UPDATE_STATE before CONNECT_TO_STATE");
            return false;
        }
        if (!message.hasUpdates) {
            fail(c, 1008, "UPDATE_STATE without an \"updates\" object");
            return false;
        }
        // The client's {"type":3,"data":{"updates":...}} is, word for word, the
        // STATE_UPDATED (also type 3) that v1 servers broadcast: framed once, sent to
        // every client of the state, the sender included, by the thread that has it.
        auto broadcast = std::make_shared<RelayBroadcast>();
        broadcast->state = *c.state;
        appendServerFrame(broadcast->frame, OpText, true, text, size);
        for (const auto &thread : m_all) {
            if (thread.get() != this)
                thread->post(broadcast);
        }
        deliver(*broadcast);
        return !c.condemned;
    }
    default:
        fail(c, 1003, "the unsupported message type " + std::to_string(message.type));
        return false;
    }
}

void RelayThread::join(Connection &c, std::string state)
{
    leave(c);
    const auto entry = m_states.try_emplace(std::move(state)).first;
    c.members = &entry->second;
    c.state = &entry->first;
    c.memberIndex = entry->second.size();
    entry->second.push_back(&c);
}

void RelayThread::leave(Connection &c)
{
    if (!c.members)
        return;
    Members &members = *c.members;
    Connection *last = members.back();
    members[c.memberIndex] = last;
    last->memberIndex = c.memberIndex;
    members.pop_back();
    if (members.empty())
        m_states.erase(m_states.find(*c.state));
    c.members = nullptr;
    c.state = nullptr;
}

void RelayThread::deliver(const RelayBroadcast &broadcast)
{
    const auto entry = m_states.find(broadcast.state);
    if (entry == m_states.end())
        return;
    // One send() per client: a client that fails is only condemned here, so the list
    // does not change under the loop.
    for (Connection *c : entry->second)
        send(*c, broadcast.frame.data(), broadcast.frame.size());
}

void RelayThread::send(Connection &c, const char *data, size_t size)
{
    if (c.condemned)
        return;
    if (c.pendingAt < c.pending.size()) {
        // Behind what waits already: order is kept.
        if (c.pending.size() - c.pendingAt + size > MaxPendingSize) {
            say("connection " + std::to_string(c.id)
                + " closed: it left more than 64 MiB "
                  "unread");
            condemn(c);
            return;
        }
        c.pending.append(data, size);
        return;
    }
    const ssize_t n = ::send(c.fd, data, size, MSG_NOSIGNAL);
    if (n == ssize_t(size))
        return;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        if (errno != ECONNRESET && errno != EPIPE)
            say("connection " + std::to_string(c.id) + ": send: " + std::strerror(errno));
        condemn(c);
        return;
    }
    const size_t taken = n > 0 ? size_t(n) : 0;
    ++m_backlogs;
    c.pending.assign(data + taken, size - taken);
    c.pendingAt = 0;
    watchWrites(c, true);
}

void RelayThread::flush(Connection &c)
{
    while (c.pendingAt < c.pending.size()) {
        const ssize_t n = ::send(c.fd, c.pending.data() + c.pendingAt,
                                 c.pending.size() - c.pendingAt, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                if (errno != ECONNRESET && errno != EPIPE)
                    say("connection " + std::to_string(c.id) + ": send: " + std::strerror(errno));
                condemn(c);
                return;
            }
            // Drop what was sent once it is the larger part, not on every partial send.
            if (c.pendingAt > c.pending.size() / 2) {
                c.pending.erase(0, c.pendingAt);
                c.pendingAt = 0;
            }
            return;
        }
        c.pendingAt += size_t(n);
    }
    if (c.pending.capacity() > MaxMessageSize)
        std::string().swap(c.pending);
    else
        c.pending.clear();
    c.pendingAt = 0;
    watchWrites(c, false);
}

void RelayThread::watchWrites(Connection &c, bool on)
{
    if (c.watchingWrites == on)
        return;
    epoll_event event{};
    event.events = on ? EPOLLIN | EPOLLOUT : EPOLLIN;
    event.data.u64 = uint64_t(reinterpret_cast<uintptr_t>(&c));
    if (epoll_ctl(m_epoll, EPOLL_CTL_MOD, c.fd, &event) != 0) {
        say("connection " + std::to_string(c.id) + ": epoll_ctl: " + std::strerror(errno));
        condemn(c);
        return;
    }
    c.watchingWrites = on;
}

void RelayThread::fail(Connection &c, uint16_t code, const std::string &reason)
{
    say("connection " + std::to_string(c.id) + " closed: " + reason);
    // A close frame with the code and the reason (at most 123 bytes), sent with what is
    // still pending when the connection is closed.
    std::string payload;
    payload += char(code >> 8);
    payload += char(code & 0xFF);
    payload += reason.substr(0, 123);
    appendServerFrame(c.pending, OpClose, true, payload.data(), payload.size());
    condemn(c);
}

void RelayThread::condemn(Connection &c)
{
    if (c.condemned)
        return;
    c.condemned = true;
    m_condemned.push_back(&c);
}

void RelayThread::closeCondemned()
{
    for (Connection *c : m_condemned) {
        leave(*c);
        // Whatever the socket takes at once (a close frame, mostly); the rest is lost
        // with the connection.
        if (c->pendingAt < c->pending.size())
            ::send(c->fd, c->pending.data() + c->pendingAt, c->pending.size() - c->pendingAt,
                   MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(c->fd);
        const size_t index = c->index;
        m_connections[index].swap(m_connections.back());
        m_connections[index]->index = index;
        m_connections.pop_back();
    }
    m_condemned.clear();
}

} // namespace loadgen
