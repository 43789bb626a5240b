// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef REDISSERVER_H
#define REDISSERVER_H

#include <QtCore/qprocess.h>
#include <QtCore/qstandardpaths.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qtcpserver.h>
#include <QtTest/qsignalspy.h>
#include <QtTest/qtest.h>

#include <csignal>

#include <sys/prctl.h>

namespace TestSupport {

// A redis-server of the test's own, on a free port of 127.0.0.1, with its data in a
// temporary directory. Every write is in its append-only file before Redis answers
// (appendfsync always), so a Redis killed and started again has every change it
// acknowledged. Stopped when the object goes.
class RedisServer
{
public:
    RedisServer() = default;
    ~RedisServer() { stop(); }
    Q_DISABLE_COPY_MOVE(RedisServer)

    static QString program()
    {
        return QStandardPaths::findExecutable(QStringLiteral("redis-server"));
    }

    // Starts Redis (again, on the same port and data, after kill() or stop()); waits until
    // it accepts connections.
    bool start()
    {
        if (program().isEmpty()) {
            qWarning("redis-server is not installed");
            return false;
        }
        if (!m_port) {
            QTcpServer probe;
            if (!probe.listen(QHostAddress::LocalHost, 0))
                return false;
            m_port = probe.serverPort();
        }
        m_process = std::make_unique<QProcess>();
        m_process->setProcessChannelMode(QProcess::MergedChannels);
        // A test that crashes or is killed takes its Redis with it.
        m_process->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
        m_process->start(program(),
                         {QStringLiteral("--port"), QString::number(m_port),
                          QStringLiteral("--bind"), QStringLiteral("127.0.0.1"),
                          QStringLiteral("--dir"), m_dir.path(), QStringLiteral("--save"),
                          QString(), QStringLiteral("--appendonly"), QStringLiteral("yes"),
                          QStringLiteral("--appendfsync"), QStringLiteral("always"),
                          QStringLiteral("--daemonize"), QStringLiteral("no"),
                          QStringLiteral("--loglevel"), QStringLiteral("notice")});
        if (!m_process->waitForStarted(10000))
            return false;
        QByteArray log;
        QSignalSpy output(m_process.get(), &QProcess::readyReadStandardOutput);
        while (!log.contains("Ready to accept connections")) {
            if (m_process->state() != QProcess::Running || !output.wait(10000)) {
                qWarning("redis-server did not start: %s", log.constData());
                return false;
            }
            log += m_process->readAll();
        }
        // Keep reading what it logs, so it never blocks on a full pipe.
        QObject::connect(m_process.get(), &QProcess::readyReadStandardOutput, m_process.get(),
                         [process = m_process.get()] { process->readAll(); });
        return true;
    }
    // SIGKILL: no shutdown, no last save.
    void kill()
    {
        if (!m_process)
            return;
        m_process->kill();
        m_process->waitForFinished(10000);
        m_process.reset();
    }
    void stop()
    {
        if (!m_process)
            return;
        m_process->terminate();
        if (!m_process->waitForFinished(10000))
            kill();
        m_process.reset();
    }
    quint16 port() const { return m_port; }

private:
    QTemporaryDir m_dir;
    quint16 m_port = 0;
    std::unique_ptr<QProcess> m_process;
};

} // namespace TestSupport

#endif // REDISSERVER_H
