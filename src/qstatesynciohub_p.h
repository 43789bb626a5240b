// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCIOHUB_P_H
#define QSTATESYNCIOHUB_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesynciothread_p.h"
#include "qstatesynclink_p.h"

#include <QtCore/qmutex.h>
#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>

#include <memory>
#include <vector>

// The server thread's end of the I/O threads: it hands them sockets, gathers what the
// server sends during one turn of its event loop into one batch per thread, and passes
// what the threads received to the connections, all of a turn at once.
class QStateSyncIoHub : public QObject
{
    Q_OBJECT

public:
    QStateSyncIoHub(int threadCount, QObject *parent = nullptr);
    ~QStateSyncIoHub() override;

    int threadCount() const { return int(m_threads.size()); }
    QStateSyncIoSettings settings;

    // Gives a WebSocket whose handshake answer is response (not sent yet) to the least busy
    // thread; early are the bytes the client sent after its request.
    QStateSyncIoPeer *adopt(int fd, const QString &description, const QByteArray &response,
                            const QByteArray &early);
    void send(QStateSyncIoPeer *peer, const QByteArray &frame);
    void close(QStateSyncIoPeer *peer, const QByteArray &closeFrame);
    void abort(QStateSyncIoPeer *peer);
    // The peer's link is going: the peer is released once it is closed.
    void detach(QStateSyncIoPeer *peer);
    // Hands the batches gathered so far to the threads.
    void flush();

    // From the I/O threads: takes the events, leaving events empty.
    void deliver(std::vector<QStateSyncIoEvent> &events);

private:
    QStateSyncIoBatch &outbox(QStateSyncIoPeer *peer);
    void drain();
    void handle(QStateSyncIoEvent &event);

    std::vector<std::unique_ptr<QStateSyncIoThread>> m_threads;
    std::vector<QStateSyncIoBatch> m_outboxes;
    bool m_flushScheduled = false;
    int m_nextThread = 0;

    QMutex m_inboxMutex;
    std::vector<QStateSyncIoEvent> m_inbox; // guarded by m_inboxMutex
    bool m_drainPosted = false; // guarded by m_inboxMutex
    // Taken from the inbox, handled up to m_nextEvent.
    std::vector<QStateSyncIoEvent> m_draining;
    size_t m_nextEvent = 0;
};

// A client served by an I/O thread.
class QStateSyncRawLink : public QStateSyncLink
{
public:
    QStateSyncRawLink(QStateSyncIoHub *hub, QStateSyncIoPeer *peer, const QHostAddress &address,
                      quint16 port, bool v2);
    ~QStateSyncRawLink() override;

    bool isV2() const override { return m_v2; }
    bool isServedByIoThread() const override { return true; }
    QHostAddress peerAddress() const override { return m_address; }
    quint16 peerPort() const override { return m_port; }
    bool isOpen() const override { return m_open && m_hub; }
    void write(const QByteArray &frame) override;
    void close(quint16 code, const QString &reason) override;
    void abort() override;
    void ping() override;
    qint64 pendingOutput() const override;
    bool takeSignOfLife() override;
    void markAlive() override;

    // From the hub.
    QStateSyncConnection *connection() const { return m_connection; }
    void closed() { m_open = false; }

private:
    QPointer<QStateSyncIoHub> m_hub;
    QStateSyncIoPeer *m_peer;
    QHostAddress m_address;
    quint16 m_port;
    bool m_v2;
    bool m_open = true;
};

#endif // QSTATESYNCIOHUB_P_H
