// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCIOTHREAD_P_H
#define QSTATESYNCIOTHREAD_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncprotocol_p.h"
#include "qstatesyncwebsocketframes_p.h"

#include <QtCore/qmutex.h>
#include <QtCore/qset.h>
#include <QtCore/qthread.h>

#include <atomic>
#include <vector>

class QStateSyncIoHub;
class QStateSyncIoThread;
class QStateSyncRawLink;

// What the I/O threads need of the server's limits; the server thread may change them
// at any time.
struct QStateSyncIoSettings
{
    std::atomic<qint64> maxMessageSize{1024 * 1024};
    std::atomic<int> maxNestingDepth{64};
    // 0: no limit. The output of a peer past twice this that reads nothing is dropped.
    std::atomic<qint64> maxPendingOutput{4 * 1024 * 1024};
    // How far past twice maxPendingOutput a peer that reads, however slowly, may fall.
    static constexpr qint64 HardOutputMargin = 1024 * 1024;
    // How long a closing connection waits for the peer's close frame.
    static constexpr int CloseTimeoutMs = 5000;
};

// One client's socket, served by one I/O thread. The server thread holds it as a handle
// and never frees it: the I/O thread does, when told to release it, which the server
// thread only does once it heard that the connection is closed and it needs it no more.
// So no message about a peer ever reaches a freed one.
struct QStateSyncIoPeer
{
    QStateSyncIoPeer(int fd, QStateSyncIoThread *thread, int threadIndex,
                     const QString &description)
        : fd(fd)
        , thread(thread)
        , threadIndex(threadIndex)
        , description(description)
    { }

    const int fd;
    QStateSyncIoThread *const thread;
    const int threadIndex; // the hub's number for thread
    // For log lines: the client and its address.
    const QString description;

    // Shared: bytes handed to the peer that the system has not taken yet, and whether the
    // peer showed a sign of life since the server thread last asked.
    std::atomic<qint64> queuedBytes{0};
    std::atomic<bool> alive{true};

    // The server thread's side.
    QStateSyncRawLink *link = nullptr;
    bool disconnectSeen = false;
    bool detached = false;
    bool abortSent = false;

    // The I/O thread's side.
    enum class Phase : quint8 { Open, CloseAfterFlush, AwaitingClose, Closed };
    QStateSyncWebSocket::FrameReader reader;
    QByteArray input; // the start of a frame that is not complete yet
    QByteArray output; // bytes the system did not take yet, from outputOffset
    qsizetype outputOffset = 0;
    int chainFirst = -1;
    int chainLast = -1;
    qint64 closeDeadline = 0;
    int unacknowledged = 0; // in the system's queue, the last time a backlog was looked at
    Phase phase = Phase::Open;
    bool dirty = false;
    bool waitingToWrite = false;
    bool tookSinceLastLook = false;
    bool dropped = false;
};

// What the server thread asks of the I/O threads, gathered during one turn of its event
// loop and handed over at once. A frame sent to many peers is kept once.
struct QStateSyncIoBatch
{
    enum Op : quint8 { Adopt, Send, Close, Abort, Release };
    struct Command
    {
        QStateSyncIoPeer *peer;
        quint32 frame;
        Op op;
    };
    std::vector<QByteArray> frames;
    std::vector<Command> commands;

    bool isEmpty() const { return commands.empty(); }
    void add(Op op, QStateSyncIoPeer *peer, const QByteArray &frame = QByteArray())
    {
        quint32 index = 0;
        if (op == Send || op == Close) {
            if (frames.empty() || frames.back().constData() != frame.constData()
                || frames.back().size() != frame.size()) {
                frames.push_back(frame);
            }
            index = quint32(frames.size() - 1);
        }
        commands.push_back({peer, index, op});
    }
};

// What the I/O threads tell the server thread.
struct QStateSyncIoEvent
{
    enum Kind : quint8 { Message, Binary, Disconnected, Drained };
    Kind kind;
    QStateSyncIoPeer *peer;
    qint64 size = 0;
    QStateSyncProtocol::ClientMessage message;
};

// A thread serving many client sockets with epoll: it reads their frames, decodes their
// messages and answers pings itself, and writes what the server thread sends them, every
// peer's frames of one turn in one system call.
class QStateSyncIoThread : public QThread
{
public:
    QStateSyncIoThread(QStateSyncIoHub *hub, const QStateSyncIoSettings *settings, int index);
    ~QStateSyncIoThread() override;

    // From the server thread.
    void post(QStateSyncIoBatch &&batch);
    void stop();
    int peerCount() const { return m_peerCount.load(std::memory_order_relaxed); }

protected:
    void run() override;

private:
    class Reader;
    friend class Reader;

    void wake();
    void takeBatches();
    void runCommands();
    void adopt(QStateSyncIoPeer *peer);
    void queue(QStateSyncIoPeer *peer, const QByteArray &frame);
    void queueOwn(QStateSyncIoPeer *peer, const QByteArray &frame);
    void readFrom(QStateSyncIoPeer *peer);
    void feed(QStateSyncIoPeer *peer, char *data, qsizetype size);
    void writeTo(QStateSyncIoPeer *peer);
    void flushDirty();
    void written(QStateSyncIoPeer *peer, qint64 bytes);
    void afterFlush(QStateSyncIoPeer *peer);
    void startClosing(QStateSyncIoPeer *peer, const QByteArray &frame);
    void closeNow(QStateSyncIoPeer *peer);
    void watchWritable(QStateSyncIoPeer *peer, bool on);
    void expireClosing();
    void lookAtBacklogs();
    int nextTimeout() const;
    bool checkFlood(QStateSyncIoPeer *peer);
    void publish();

    QStateSyncIoHub *const m_hub;
    const QStateSyncIoSettings *const m_settings;
    int m_epoll = -1;
    int m_wakeFd = -1;

    QMutex m_mutex;
    std::vector<QStateSyncIoBatch> m_incoming; // guarded by m_mutex
    bool m_wakePending = false; // guarded by m_mutex
    bool m_stopping = false; // guarded by m_mutex

    // The I/O thread's own.
    std::vector<QStateSyncIoBatch> m_current;
    struct ChainLink
    {
        const char *data;
        qsizetype size;
        int next;
    };
    std::vector<ChainLink> m_chain;
    std::vector<QStateSyncIoPeer *> m_dirty;
    std::vector<QStateSyncIoEvent> m_events;
    QSet<QStateSyncIoPeer *> m_peers;
    QSet<QStateSyncIoPeer *> m_closing;
    QSet<QStateSyncIoPeer *> m_backlogged;
    qint64 m_nextBacklogLook = 0;
    QByteArray m_scratch;
    std::atomic<int> m_peerCount{0};
};

#endif // QSTATESYNCIOTHREAD_P_H
