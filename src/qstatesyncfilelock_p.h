// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCFILELOCK_P_H
#define QSTATESYNCFILELOCK_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include <QtCore/qglobal.h>
#include <QtCore/qstring.h>

#include <memory>

class QLockFile;

// A lock that one process (one holder) at a time may take on a file name. On Unix it is
// the operating system's lock (flock) on the file: it ends with its holder however the
// holder ends, so a process that was killed never leaves a lock behind, even when the
// next one gets the same process id (as the first process of a container does). The
// file says who holds it, for the message another process gets.
class QStateSyncFileLock
{
public:
    explicit QStateSyncFileLock(const QString &fileName);
    ~QStateSyncFileLock();
    Q_DISABLE_COPY_MOVE(QStateSyncFileLock)

    // Takes the lock without waiting. On failure: false, and *holder is the process id of
    // the holder (0 when unknown) and *error says what went wrong.
    bool tryLock(qint64 *holder, QString *error);
    // Gives the lock back and removes the file.
    void unlock();

private:
    QString m_fileName;
#ifdef Q_OS_UNIX
    int m_fd = -1;
#else
    std::unique_ptr<QLockFile> m_lockFile;
#endif
};

#endif // QSTATESYNCFILELOCK_P_H
