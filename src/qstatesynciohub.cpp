// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynciohub_p.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncwebsocketframes_p.h"

#include <unistd.h>

QStateSyncIoHub::QStateSyncIoHub(int threadCount, QObject *parent)
    : QObject(parent)
{
    Q_ASSERT(threadCount > 0);
    for (int i = 0; i < threadCount; ++i) {
        m_threads.push_back(std::make_unique<QStateSyncIoThread>(this, &settings, i + 1));
        m_threads.back()->start();
    }
    m_outboxes.resize(m_threads.size());
}

QStateSyncIoHub::~QStateSyncIoHub()
{
    // What was gathered in this turn goes too: a socket handed over in it is only closed
    // once its thread has it. The threads close their sockets and free their peers; links
    // left over see that the hub is gone and touch nothing.
    flush();
    for (const auto &thread : m_threads)
        thread->stop();
    m_threads.clear();
}

QStateSyncIoPeer *QStateSyncIoHub::adopt(int fd, const QString &description,
                                         const QByteArray &response, const QByteArray &early)
{
    // The least busy thread; among equals, the next in turn.
    int chosen = m_nextThread;
    for (int i = 0; i < threadCount(); ++i) {
        const int candidate = (m_nextThread + i) % threadCount();
        if (m_threads[candidate]->peerCount() < m_threads[chosen]->peerCount())
            chosen = candidate;
    }
    m_nextThread = (chosen + 1) % threadCount();
    auto *peer = new QStateSyncIoPeer(fd, m_threads[chosen].get(), chosen, description);
    peer->reader.setMaxMessageSize(settings.maxMessageSize.load(std::memory_order_relaxed));
    peer->output = response;
    peer->input = early;
    peer->queuedBytes.store(response.size(), std::memory_order_relaxed);
    outbox(peer).add(QStateSyncIoBatch::Adopt, peer);
    return peer;
}

QStateSyncIoBatch &QStateSyncIoHub::outbox(QStateSyncIoPeer *peer)
{
    if (!m_flushScheduled) {
        m_flushScheduled = true;
        QMetaObject::invokeMethod(this, &QStateSyncIoHub::flush, Qt::QueuedConnection);
    }
    return m_outboxes[size_t(peer->threadIndex)];
}

void QStateSyncIoHub::send(QStateSyncIoPeer *peer, const QByteArray &frame)
{
    peer->queuedBytes.fetch_add(frame.size(), std::memory_order_relaxed);
    outbox(peer).add(QStateSyncIoBatch::Send, peer, frame);
}

void QStateSyncIoHub::close(QStateSyncIoPeer *peer, const QByteArray &closeFrame)
{
    peer->queuedBytes.fetch_add(closeFrame.size(), std::memory_order_relaxed);
    outbox(peer).add(QStateSyncIoBatch::Close, peer, closeFrame);
}

void QStateSyncIoHub::abort(QStateSyncIoPeer *peer)
{
    if (std::exchange(peer->abortSent, true) || peer->disconnectSeen)
        return;
    outbox(peer).add(QStateSyncIoBatch::Abort, peer);
}

void QStateSyncIoHub::detach(QStateSyncIoPeer *peer)
{
    peer->link = nullptr;
    peer->detached = true;
    if (peer->disconnectSeen)
        outbox(peer).add(QStateSyncIoBatch::Release, peer);
    else
        abort(peer); // released when the thread says it is closed
}

void QStateSyncIoHub::flush()
{
    m_flushScheduled = false;
    for (size_t i = 0; i < m_threads.size(); ++i) {
        if (!m_outboxes[i].isEmpty())
            m_threads[i]->post(std::exchange(m_outboxes[i], QStateSyncIoBatch()));
    }
}

void QStateSyncIoHub::deliver(std::vector<QStateSyncIoEvent> &events)
{
    bool post = false;
    {
        QMutexLocker locker(&m_inboxMutex);
        if (m_inbox.empty()) {
            m_inbox.swap(events);
        } else {
            m_inbox.insert(m_inbox.end(), std::make_move_iterator(events.begin()),
                           std::make_move_iterator(events.end()));
        }
        post = !std::exchange(m_drainPosted, true);
    }
    if (post)
        QMetaObject::invokeMethod(this, &QStateSyncIoHub::drain, Qt::QueuedConnection);
}

void QStateSyncIoHub::drain()
{
    {
        QMutexLocker locker(&m_inboxMutex);
        if (m_draining.empty()) {
            m_draining.swap(m_inbox);
        } else {
            m_draining.insert(m_draining.end(), std::make_move_iterator(m_inbox.begin()),
                              std::make_move_iterator(m_inbox.end()));
            m_inbox.clear();
        }
        m_drainPosted = false;
    }
    // A handler may destroy the server, and this hub with it. One that runs a nested event
    // loop runs this again, which goes on with the events left here before the newer ones:
    // a peer's events keep their order, and the last, Disconnected, is handled (and the
    // peer maybe released) only after all the others.
    const QPointer<QStateSyncIoHub> guard(this);
    while (m_nextEvent < m_draining.size()) {
        QStateSyncIoEvent event = std::move(m_draining[m_nextEvent++]);
        handle(event);
        if (!guard)
            return;
    }
    m_draining.clear();
    m_nextEvent = 0;
    flush();
}

void QStateSyncIoHub::handle(QStateSyncIoEvent &event)
{
    QStateSyncIoPeer *peer = event.peer;
    QStateSyncRawLink *link = peer->link;
    switch (event.kind) {
    case QStateSyncIoEvent::Disconnected: {
        // A link that goes from now on releases the peer itself.
        const bool detached = peer->detached;
        const QPointer<QStateSyncIoHub> guard(this);
        peer->disconnectSeen = true;
        if (link) {
            link->closed();
            link->connection()->linkClosed(event.size != 0);
        }
        if (guard && detached)
            outbox(peer).add(QStateSyncIoBatch::Release, peer);
        break;
    }
    case QStateSyncIoEvent::Message:
        if (link)
            link->connection()->receive(event.message, event.size);
        break;
    case QStateSyncIoEvent::Binary:
        if (link)
            link->connection()->receiveBinary();
        break;
    case QStateSyncIoEvent::Drained:
        if (link)
            link->connection()->outputTaken(peer->queuedBytes.load(std::memory_order_relaxed));
        break;
    }
}

QStateSyncRawLink::QStateSyncRawLink(QStateSyncIoHub *hub, QStateSyncIoPeer *peer,
                                     const QHostAddress &address, quint16 port, bool v2)
    : m_hub(hub)
    , m_peer(peer)
    , m_address(address)
    , m_port(port)
    , m_v2(v2)
{
    peer->link = this;
}

QStateSyncRawLink::~QStateSyncRawLink()
{
    if (m_hub)
        m_hub->detach(m_peer);
}

void QStateSyncRawLink::write(const QByteArray &frame)
{
    if (isOpen())
        m_hub->send(m_peer, frame);
}

void QStateSyncRawLink::close(quint16 code, const QString &reason)
{
    if (!isOpen())
        return;
    m_open = false;
    m_hub->close(m_peer, QStateSyncWebSocket::closeFrame(code, reason.toUtf8()));
}

void QStateSyncRawLink::abort()
{
    m_open = false;
    if (m_hub)
        m_hub->abort(m_peer);
}

void QStateSyncRawLink::ping()
{
    static const QByteArray frame = QStateSyncWebSocket::controlFrame(QStateSyncWebSocket::OpPing);
    write(frame);
}

qint64 QStateSyncRawLink::pendingOutput() const
{
    return m_hub ? m_peer->queuedBytes.load(std::memory_order_relaxed) : 0;
}

bool QStateSyncRawLink::takeSignOfLife()
{
    return m_hub && m_peer->alive.exchange(false, std::memory_order_relaxed);
}

void QStateSyncRawLink::markAlive()
{
    if (m_hub)
        m_peer->alive.store(true, std::memory_order_relaxed);
}
