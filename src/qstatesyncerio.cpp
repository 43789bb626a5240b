// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncer.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncer_p.h"
#include "qstatesynciohub_p.h"
#include "qstatesynclogging_p.h"

#include <QtCore/qthread.h>

#include <algorithm>

#include <unistd.h>

/*!
    \property QStateSyncer::ioThreads
    \brief how many threads serve the clients' connections; 0 means the server's own thread.
    Default: the number of processor cores, at most 4, or the value of the environment
    variable \c QSTATESYNC_IO_THREADS when it is set.

    Each plain (\c ws://) connection is served by one of these threads: it reads the
    client's frames and decodes its messages, answers pings, and writes what the server
    sends, the frames of one event-loop turn in one system call. The states, their hooks
    and signals stay on the server's thread, which encodes each change once and hands the
    same bytes to every thread. The threads wait on \c epoll, whose cost per event does not
    grow with the number of connections, so joins and broadcasts stay fast with thousands
    of clients, and a broadcast to many clients is written by all threads at once.

    With 0, connections are QWebSocket objects on the server's thread and its event loop.
    TLS (\c wss://) connections always are, whatever this property says.

    A change takes effect at the next listen(); the threads of connections that are still
    open stay until those close.
*/

/*!
    \fn void QStateSyncer::ioThreadsChanged()

    This signal is emitted when ioThreads changes.
*/

int QStateSyncer::ioThreads() const
{
    return d->ioThreads;
}

void QStateSyncer::setIoThreads(int threads)
{
    threads = std::clamp(threads, 0, 64);
    if (d->ioThreads == threads)
        return;
    d->ioThreads = threads;
    Q_EMIT ioThreadsChanged();
}

int QStateSyncerPrivate::threadsFromEnvironment(const char *variable, int fallback)
{
    bool ok = false;
    const int fromEnvironment = qEnvironmentVariableIntValue(variable, &ok);
    return ok ? std::clamp(fromEnvironment, 0, 64) : fallback;
}

int QStateSyncerPrivate::defaultIoThreads()
{
    return threadsFromEnvironment("QSTATESYNC_IO_THREADS",
                                  std::clamp(QThread::idealThreadCount(), 1, 4));
}

void QStateSyncerPrivate::prepareIo()
{
    const bool direct = ioThreads > 0;
    if (direct && (!ioHub || ioHub->threadCount() != ioThreads)) {
        // A hub still serving connections stays until they close.
        if (ioHub
            && std::none_of(connections.cbegin(), connections.cend(),
                            [](const QStateSyncConnection *connection) {
                                return connection->isServedByIoThread();
                            })) {
            delete ioHub;
            ioHub = nullptr;
        }
        if (!ioHub) {
            ioHub = new QStateSyncIoHub(ioThreads, q);
            syncIoSettings();
        }
    }
    transport->setDirectUpgrades(direct);
}

void QStateSyncerPrivate::syncIoSettings()
{
    if (!ioHub)
        return;
    ioHub->settings.maxMessageSize.store(transport->limits().maxMessageSize);
    ioHub->settings.maxNestingDepth.store(maxNestingDepth);
    ioHub->settings.maxPendingOutput.store(limits.maxPendingOutput);
}

void QStateSyncerPrivate::addUpgradedConnection(int fd, const QByteArray &response,
                                                const QByteArray &early,
                                                const QHostAddress &address, quint16 port, bool v2,
                                                const QStateSyncIdentity &identity)
{
    if (!ioHub) {
        ::close(fd);
        return;
    }
    const QString description
            = QStringLiteral("%1 (%2:%3)")
                      .arg(loggable(identity.clientIdentifier), address.toString())
                      .arg(port);
    QStateSyncIoPeer *peer = ioHub->adopt(fd, description, response, early);
    addConnection(std::make_unique<QStateSyncRawLink>(ioHub, peer, address, port, v2), identity);
}
