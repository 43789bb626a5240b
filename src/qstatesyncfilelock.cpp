// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncfilelock_p.h"

#include <QtCore/qcoreapplication.h>
#include <QtCore/qfile.h>
#include <QtCore/qlockfile.h>
#include <QtCore/qsysinfo.h>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

QStateSyncFileLock::QStateSyncFileLock(const QString &fileName)
    : m_fileName(fileName)
{ }

QStateSyncFileLock::~QStateSyncFileLock()
{
    unlock();
}

#ifdef Q_OS_UNIX

namespace {
qint64 holderIn(int fd)
{
    char text[32] = {};
    const ssize_t size = ::pread(fd, text, sizeof text - 1, 0);
    if (size <= 0)
        return 0;
    return QByteArray(text, int(size)).split('\n').value(0).trimmed().toLongLong();
}
} // namespace

bool QStateSyncFileLock::tryLock(qint64 *holder, QString *error)
{
    *holder = 0;
    if (m_fd >= 0)
        return true;
    const QByteArray path = QFile::encodeName(m_fileName);
    // The holder removes the file before it lets go: a lock taken on a file that is no
    // longer the one under the name is worth nothing, and is taken again.
    for (int attempt = 0; attempt < 100; ++attempt) {
        const int fd = ::open(path.constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            *error = QStringLiteral("cannot open %1: %2")
                             .arg(m_fileName, QString::fromLocal8Bit(std::strerror(errno)));
            return false;
        }
        int locked;
        do {
            locked = ::flock(fd, LOCK_EX | LOCK_NB);
        } while (locked != 0 && errno == EINTR);
        if (locked != 0) {
            const int lockError = errno;
            *holder = holderIn(fd);
            ::close(fd);
            *error = lockError == EWOULDBLOCK
                    ? QString()
                    : QStringLiteral("cannot lock %1: %2")
                              .arg(m_fileName, QString::fromLocal8Bit(std::strerror(lockError)));
            return false;
        }
        struct stat opened = {};
        struct stat named = {};
        if (::fstat(fd, &opened) == 0 && ::stat(path.constData(), &named) == 0
            && opened.st_dev == named.st_dev && opened.st_ino == named.st_ino) {
            const QByteArray owner = QByteArray::number(QCoreApplication::applicationPid()) + '\n'
                    + QCoreApplication::applicationName().toUtf8() + '\n'
                    + QSysInfo::machineHostName().toUtf8() + '\n';
            // Only the message another process gets depends on it.
            const bool written = ::ftruncate(fd, 0) == 0
                    && ::pwrite(fd, owner.constData(), size_t(owner.size()), 0) == owner.size();
            Q_UNUSED(written);
            m_fd = fd;
            return true;
        }
        ::close(fd);
    }
    *error = QStringLiteral("cannot lock %1: it keeps being replaced").arg(m_fileName);
    return false;
}

void QStateSyncFileLock::unlock()
{
    if (m_fd < 0)
        return;
    // Removed while still held, so that nobody takes a lock on a file about to go.
    ::unlink(QFile::encodeName(m_fileName).constData());
    ::close(m_fd);
    m_fd = -1;
}

#else

bool QStateSyncFileLock::tryLock(qint64 *holder, QString *error)
{
    *holder = 0;
    if (m_lockFile)
        return true;
    auto lockFile = std::make_unique<QLockFile>(m_fileName);
    // Never taken from a running owner, however old; a dead owner's lock is taken over.
    lockFile->setStaleLockTime(0);
    if (!lockFile->tryLock(0)) {
        QString host, application;
        lockFile->getLockInfo(holder, &host, &application);
        if (lockFile->error() != QLockFile::LockFailedError)
            *error = QStringLiteral("cannot lock %1").arg(m_fileName);
        return false;
    }
    m_lockFile = std::move(lockFile);
    return true;
}

void QStateSyncFileLock::unlock()
{
    m_lockFile.reset();
}

#endif
