// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynciothread_p.h"
#include "qstatesynciohub_p.h"
#include "qstatesynclogging_p.h"

#include <QtCore/qdeadlinetimer.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

using QStateSyncWebSocket::closeFrame;
using QStateSyncWebSocket::controlFrame;
using Phase = QStateSyncIoPeer::Phase;

namespace {
constexpr int MaxEvents = 256;
constexpr qsizetype ReadChunk = 64 * 1024;
// Reads of one socket in one turn: a peer that sends without pause does not starve others.
constexpr int ReadsPerTurn = 4;
constexpr int IovecsPerCall = 64;
// How often the system's queue of a connection with a backlog is looked at.
constexpr int BacklogLookMs = 100;

qint64 now()
{
    return QDeadlineTimer::current().deadline();
}
} // namespace

// Turns a peer's frames into events, pongs and closing.
class QStateSyncIoThread::Reader : public QStateSyncWebSocket::FrameReader::Handler
{
public:
    Reader(QStateSyncIoThread *thread, QStateSyncIoPeer *peer)
        : m_thread(thread)
        , m_peer(peer)
    { }

    void textMessage(QByteArrayView message) override
    {
        if (m_peer->phase != Phase::Open)
            return;
        QStateSyncIoEvent event{QStateSyncIoEvent::Message, m_peer, message.size(), {}};
        event.message = QStateSyncProtocol::decodeClientMessage(
                message, m_thread->m_settings->maxNestingDepth.load(std::memory_order_relaxed));
        m_thread->m_events.push_back(std::move(event));
    }
    void binaryMessage() override
    {
        if (m_peer->phase == Phase::Open)
            m_thread->m_events.push_back({QStateSyncIoEvent::Binary, m_peer, 0, {}});
    }
    void ping(QByteArrayView payload) override
    {
        if (m_peer->phase == Phase::Open)
            m_thread->queueOwn(m_peer, controlFrame(QStateSyncWebSocket::OpPong, payload));
    }
    void pong() override { }
    void closeReceived(quint16 code, QByteArrayView) override
    {
        switch (m_peer->phase) {
        case Phase::Open:
            // The answer echoes the code; the connection closes once it is out.
            m_thread->startClosing(m_peer,
                                   closeFrame(code == QStateSyncWebSocket::CloseNoStatus
                                                      ? quint16(QStateSyncWebSocket::CloseNormal)
                                                      : code));
            break;
        case Phase::AwaitingClose:
            m_thread->closeNow(m_peer);
            break;
        default:
            // Our close frame is still on its way; the connection closes after it.
            break;
        }
    }
    void protocolError(quint16 code, const char *why) override
    {
        qCInfo(lcStateSyncServer).noquote().nospace()
                << "closing the connection of " << m_peer->description << " with " << code << ": "
                << why;
        if (m_peer->phase == Phase::Open)
            m_thread->startClosing(m_peer, closeFrame(code, QByteArrayView(why)));
    }

private:
    QStateSyncIoThread *m_thread;
    QStateSyncIoPeer *m_peer;
};

QStateSyncIoThread::QStateSyncIoThread(QStateSyncIoHub *hub, const QStateSyncIoSettings *settings,
                                       int index)
    : m_hub(hub)
    , m_settings(settings)
{
    setObjectName(QStringLiteral("QStateSync I/O %1").arg(index));
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    m_wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_epoll < 0 || m_wakeFd < 0)
        qFatal("QStateSync: cannot create an epoll instance: %s", std::strerror(errno));
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;
    epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event);
}

QStateSyncIoThread::~QStateSyncIoThread()
{
    stop();
    wait();
    // run() freed its peers; these are peers handed over after it stopped.
    for (QStateSyncIoBatch &batch : m_incoming) {
        for (const auto &command : batch.commands) {
            if (command.op == QStateSyncIoBatch::Adopt) {
                ::close(command.peer->fd);
                delete command.peer;
            }
        }
    }
    ::close(m_wakeFd);
    ::close(m_epoll);
}

void QStateSyncIoThread::post(QStateSyncIoBatch &&batch)
{
    bool wakeUp = false;
    {
        QMutexLocker locker(&m_mutex);
        m_incoming.push_back(std::move(batch));
        wakeUp = !std::exchange(m_wakePending, true);
    }
    if (wakeUp)
        wake();
}

void QStateSyncIoThread::stop()
{
    {
        QMutexLocker locker(&m_mutex);
        m_stopping = true;
    }
    wake();
}

void QStateSyncIoThread::wake()
{
    const quint64 one = 1;
    while (::write(m_wakeFd, &one, sizeof one) < 0 && errno == EINTR) { }
}

void QStateSyncIoThread::run()
{
    m_scratch.resize(ReadChunk);
    epoll_event events[MaxEvents];
    for (;;) {
        const int count = epoll_wait(m_epoll, events, MaxEvents, nextTimeout());
        if (count < 0 && errno != EINTR)
            qFatal("QStateSync: epoll_wait failed: %s", std::strerror(errno));
        bool stopping = false;
        for (int i = 0; i < count; ++i) {
            auto *peer = static_cast<QStateSyncIoPeer *>(events[i].data.ptr);
            if (!peer) {
                quint64 value;
                while (::read(m_wakeFd, &value, sizeof value) < 0 && errno == EINTR) { }
                takeBatches();
                QMutexLocker locker(&m_mutex);
                stopping = m_stopping;
                continue;
            }
            if (peer->phase == Phase::Closed)
                continue;
            const quint32 flags = events[i].events;
            if (flags & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                readFrom(peer);
            if ((flags & EPOLLOUT) && peer->phase != Phase::Closed)
                writeTo(peer);
        }
        runCommands();
        flushDirty();
        expireClosing();
        lookAtBacklogs();
        publish();
        if (stopping)
            break;
    }
    // The server is going: its connections close with it.
    for (QStateSyncIoPeer *peer : std::as_const(m_peers)) {
        if (peer->phase != Phase::Closed)
            ::close(peer->fd);
        delete peer;
    }
    m_peers.clear();
    m_closing.clear();
    m_backlogged.clear();
    m_events.clear();
}

void QStateSyncIoThread::takeBatches()
{
    QMutexLocker locker(&m_mutex);
    m_wakePending = false;
    if (m_current.empty()) {
        m_current.swap(m_incoming);
        return;
    }
    for (QStateSyncIoBatch &batch : m_incoming)
        m_current.push_back(std::move(batch));
    m_incoming.clear();
}

void QStateSyncIoThread::runCommands()
{
    for (const QStateSyncIoBatch &batch : m_current) {
        for (const QStateSyncIoBatch::Command &command : batch.commands) {
            QStateSyncIoPeer *peer = command.peer;
            switch (command.op) {
            case QStateSyncIoBatch::Adopt:
                adopt(peer);
                break;
            case QStateSyncIoBatch::Send:
                if (peer->phase == Phase::Open)
                    queue(peer, batch.frames[command.frame]);
                break;
            case QStateSyncIoBatch::Close:
                if (peer->phase == Phase::Open) {
                    queue(peer, batch.frames[command.frame]);
                    peer->phase = Phase::CloseAfterFlush;
                }
                break;
            case QStateSyncIoBatch::Abort:
                closeNow(peer);
                break;
            case QStateSyncIoBatch::Release:
                closeNow(peer);
                m_peers.remove(peer);
                // A peer released in this turn may still be on the dirty list.
                if (peer->dirty)
                    m_dirty.erase(std::find(m_dirty.begin(), m_dirty.end(), peer));
                delete peer;
                break;
            }
        }
    }
}

void QStateSyncIoThread::adopt(QStateSyncIoPeer *peer)
{
    m_peers.insert(peer);
    m_peerCount.fetch_add(1, std::memory_order_relaxed);
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.ptr = peer;
    if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, peer->fd, &event) < 0) {
        qCWarning(lcStateSyncServer).noquote()
                << "cannot watch the socket of" << peer->description << ":"
                << QString::fromLocal8Bit(std::strerror(errno));
        closeNow(peer);
        return;
    }
    // The handshake's answer waits in the output; what the client sent after its
    // request came with the socket.
    if (!peer->output.isEmpty() && !peer->dirty) {
        peer->dirty = true;
        m_dirty.push_back(peer);
    }
    QByteArray early = std::exchange(peer->input, QByteArray());
    if (!early.isEmpty())
        feed(peer, early.data(), early.size());
}

void QStateSyncIoThread::queue(QStateSyncIoPeer *peer, const QByteArray &frame)
{
    if (!peer->dirty) {
        peer->dirty = true;
        m_dirty.push_back(peer);
    }
    if (peer->waitingToWrite) {
        // Behind a backlog, it waits with the backlog.
        peer->output.append(frame);
        return;
    }
    const int index = int(m_chain.size());
    m_chain.push_back({frame.constData(), frame.size(), -1});
    if (peer->chainLast >= 0)
        m_chain[peer->chainLast].next = index;
    else
        peer->chainFirst = index;
    peer->chainLast = index;
}

void QStateSyncIoThread::queueOwn(QStateSyncIoPeer *peer, const QByteArray &frame)
{
    // A frame the I/O thread makes (a pong, a close): it counts as queued like the others.
    peer->queuedBytes.fetch_add(frame.size(), std::memory_order_relaxed);
    peer->output.append(frame);
    if (!peer->dirty) {
        peer->dirty = true;
        m_dirty.push_back(peer);
    }
}

void QStateSyncIoThread::startClosing(QStateSyncIoPeer *peer, const QByteArray &frame)
{
    queueOwn(peer, frame);
    peer->phase = Phase::CloseAfterFlush;
}

void QStateSyncIoThread::readFrom(QStateSyncIoPeer *peer)
{
    for (int round = 0; round < ReadsPerTurn && peer->phase != Phase::Closed; ++round) {
        const ssize_t got = ::read(peer->fd, m_scratch.data(), size_t(m_scratch.size()));
        if (got > 0) {
            peer->alive.store(true, std::memory_order_relaxed);
            feed(peer, m_scratch.data(), got);
            if (peer->phase != Phase::Closed && checkFlood(peer))
                return;
            if (got < m_scratch.size())
                return;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        // The peer closed its side, or the connection failed.
        closeNow(peer);
        return;
    }
}

void QStateSyncIoThread::feed(QStateSyncIoPeer *peer, char *data, qsizetype size)
{
    if (peer->reader.isFinished())
        return; // after a close frame or an error, the rest is ignored
    Reader reader(this, peer);
    if (peer->input.isEmpty()) {
        const qsizetype used = peer->reader.feed(data, size, &reader);
        if (used < size && !peer->reader.isFinished())
            peer->input = QByteArray(data + used, size - used);
        return;
    }
    peer->input.append(data, size);
    const qsizetype used = peer->reader.feed(peer->input.data(), peer->input.size(), &reader);
    if (used == peer->input.size() || peer->reader.isFinished())
        peer->input = QByteArray();
    else if (used > 0)
        peer->input.remove(0, used);
}

bool QStateSyncIoThread::checkFlood(QStateSyncIoPeer *peer)
{
    // A peer that sends without reading makes its pongs and answers pile up: past twice
    // the limit, one whose system took nothing since the last look is dropped, and so is
    // any peer past a hard cap, however slowly it reads.
    const qint64 limit = m_settings->maxPendingOutput.load(std::memory_order_relaxed);
    if (limit <= 0)
        return false;
    const qint64 pending = peer->queuedBytes.load(std::memory_order_relaxed);
    const bool tookSomething = std::exchange(peer->tookSinceLastLook, false);
    if (pending <= 2 * limit
        || (tookSomething && pending <= 2 * limit + QStateSyncIoSettings::HardOutputMargin)) {
        return false;
    }
    qCInfo(lcStateSyncServer).noquote().nospace()
            << "client " << peer->description << " keeps sending but does not read: " << pending
            << " bytes wait for it; dropping it";
    peer->dropped = true;
    closeNow(peer);
    return true;
}

void QStateSyncIoThread::writeTo(QStateSyncIoPeer *peer)
{
    // The system can take more of a backlog.
    while (peer->outputOffset < peer->output.size()) {
        const ssize_t sent = ::send(peer->fd, peer->output.constData() + peer->outputOffset,
                                    size_t(peer->output.size() - peer->outputOffset),
                                    MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0) {
            peer->outputOffset += sent;
            // What the system takes from a backlog, the peer has read.
            if (peer->waitingToWrite)
                peer->alive.store(true, std::memory_order_relaxed);
            written(peer, sent);
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watchWritable(peer, true);
            return;
        }
        closeNow(peer);
        return;
    }
    peer->output = QByteArray();
    peer->outputOffset = 0;
    watchWritable(peer, false);
    afterFlush(peer);
}

void QStateSyncIoThread::flushDirty()
{
    iovec vectors[IovecsPerCall];
    for (QStateSyncIoPeer *peer : m_dirty) {
        peer->dirty = false;
        int link = std::exchange(peer->chainFirst, -1);
        peer->chainLast = -1;
        if (peer->phase == Phase::Closed)
            continue;
        if (!peer->output.isEmpty()) {
            // The frames of this turn go behind what waits already: a backlog, or frames of
            // the thread's own (the handshake's answer, pongs). Written apart, the older ones
            // could end a closing connection before the newer ones, its close frame among
            // them, were out.
            for (; link >= 0; link = m_chain[link].next)
                peer->output.append(m_chain[link].data, m_chain[link].size);
            if (!peer->waitingToWrite)
                writeTo(peer);
            continue;
        }
        while (link >= 0) {
            int count = 0;
            int cursor = link;
            for (; cursor >= 0 && count < IovecsPerCall; cursor = m_chain[cursor].next) {
                vectors[count].iov_base = const_cast<char *>(m_chain[cursor].data);
                vectors[count].iov_len = size_t(m_chain[cursor].size);
                ++count;
            }
            msghdr message{};
            message.msg_iov = vectors;
            message.msg_iovlen = size_t(count);
            const ssize_t sent = ::sendmsg(peer->fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (sent < 0 && errno == EINTR)
                continue;
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                closeNow(peer);
                break;
            }
            qsizetype taken = std::max<ssize_t>(sent, 0);
            if (taken > 0)
                written(peer, taken);
            // Skip what the system took; keep the rest as the backlog.
            while (link != cursor && taken >= m_chain[link].size) {
                taken -= m_chain[link].size;
                link = m_chain[link].next;
            }
            if (link == cursor)
                continue;
            peer->output.append(m_chain[link].data + taken, m_chain[link].size - taken);
            for (link = m_chain[link].next; link >= 0; link = m_chain[link].next)
                peer->output.append(m_chain[link].data, m_chain[link].size);
            watchWritable(peer, true);
            break;
        }
        if (peer->phase != Phase::Closed && peer->output.isEmpty())
            afterFlush(peer);
    }
    m_dirty.clear();
    m_chain.clear();
    // The frames were written or copied: the batches can go.
    m_current.clear();
}

void QStateSyncIoThread::written(QStateSyncIoPeer *peer, qint64 bytes)
{
    peer->tookSinceLastLook = true;
    const qint64 before = peer->queuedBytes.fetch_sub(bytes, std::memory_order_relaxed);
    const qint64 limit = m_settings->maxPendingOutput.load(std::memory_order_relaxed);
    const qint64 lowWater = limit / 4;
    if (limit > 0 && before > lowWater && before - bytes <= lowWater)
        m_events.push_back({QStateSyncIoEvent::Drained, peer, 0, {}});
}

void QStateSyncIoThread::afterFlush(QStateSyncIoPeer *peer)
{
    if (peer->phase != Phase::CloseAfterFlush)
        return;
    if (peer->reader.isFinished()) {
        // Both close frames went: the server closes the connection first.
        closeNow(peer);
        return;
    }
    ::shutdown(peer->fd, SHUT_WR);
    peer->phase = Phase::AwaitingClose;
    peer->closeDeadline = now() + QStateSyncIoSettings::CloseTimeoutMs;
    m_closing.insert(peer);
}

int QStateSyncIoThread::nextTimeout() const
{
    qint64 next = LLONG_MAX;
    for (const QStateSyncIoPeer *peer : std::as_const(m_closing))
        next = std::min(next, peer->closeDeadline);
    if (!m_backlogged.isEmpty())
        next = std::min(next, m_nextBacklogLook);
    if (next == LLONG_MAX)
        return -1;
    return int(std::clamp<qint64>(next - now(), 0, INT_MAX));
}

void QStateSyncIoThread::lookAtBacklogs()
{
    // The system tells the peer's reading only when it has room for much more; its queue
    // of bytes not acknowledged yet shrinks as soon as the peer reads some: a peer that
    // reads slowly is alive.
    if (m_backlogged.isEmpty())
        return;
    const qint64 current = now();
    if (current < m_nextBacklogLook)
        return;
    m_nextBacklogLook = current + BacklogLookMs;
    for (QStateSyncIoPeer *peer : std::as_const(m_backlogged)) {
        int queued = 0;
        if (ioctl(peer->fd, SIOCOUTQ, &queued) < 0)
            continue;
        if (peer->unacknowledged >= 0 && queued < peer->unacknowledged) {
            peer->alive.store(true, std::memory_order_relaxed);
            peer->tookSinceLastLook = true;
        }
        peer->unacknowledged = queued;
    }
}

void QStateSyncIoThread::watchWritable(QStateSyncIoPeer *peer, bool on)
{
    if (peer->waitingToWrite == on)
        return;
    peer->waitingToWrite = on;
    if (on) {
        if (m_backlogged.isEmpty())
            m_nextBacklogLook = now() + BacklogLookMs;
        m_backlogged.insert(peer);
        peer->unacknowledged = -1; // not looked at yet
    } else {
        m_backlogged.remove(peer);
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0);
    event.data.ptr = peer;
    epoll_ctl(m_epoll, EPOLL_CTL_MOD, peer->fd, &event);
}

void QStateSyncIoThread::expireClosing()
{
    if (m_closing.isEmpty())
        return;
    const qint64 current = now();
    const QList<QStateSyncIoPeer *> closing = m_closing.values();
    for (QStateSyncIoPeer *peer : closing) {
        if (peer->closeDeadline <= current)
            closeNow(peer);
    }
}

void QStateSyncIoThread::closeNow(QStateSyncIoPeer *peer)
{
    if (peer->phase == Phase::Closed)
        return;
    epoll_ctl(m_epoll, EPOLL_CTL_DEL, peer->fd, nullptr);
    ::close(peer->fd);
    peer->phase = Phase::Closed;
    peer->input = QByteArray();
    peer->output = QByteArray();
    peer->outputOffset = 0;
    peer->reader.releaseMemory();
    peer->queuedBytes.store(0, std::memory_order_relaxed);
    m_closing.remove(peer);
    m_backlogged.remove(peer);
    peer->waitingToWrite = false;
    m_peerCount.fetch_sub(1, std::memory_order_relaxed);
    m_events.push_back({QStateSyncIoEvent::Disconnected, peer, peer->dropped ? 1 : 0, {}});
}

void QStateSyncIoThread::publish()
{
    if (m_events.empty())
        return;
    m_hub->deliver(m_events);
    m_events.clear();
}
