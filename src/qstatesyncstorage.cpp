// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncstorage.h"

#include "qstatesynclogging_p.h"
#include "qstatesyncstorage_p.h"

/*!
    \class QStateSyncStorage
    \inmodule QStateSync
    \brief The base of the storages that keep a QStateSyncer's states beyond its process.

    Without a storage, a QStateSyncer keeps its states in memory, and they end with the
    process. Given one with QStateSyncer::setStorage(), it stores every state it creates,
    every change it applies and every removal, and on the next start it brings the states
    back with their values, versions and ttl deadlines.

    QStateSyncSqliteStorage keeps the states in an SQLite file.

    A storage serves one server at a time, and lives in the server's thread. Its own work
    (writing, waiting for the disk) runs on a thread of its own.

    \sa QStateSyncer::setStorage(), QStateSyncSqliteStorage
*/

/*!
    \property QStateSyncStorage::attached
    \brief whether a server uses this storage.

    A storage is attached by QStateSyncer::setStorage(), and detached when the server is
    given another storage or is destroyed; everything written is stored by then.
*/

/*!
    \property QStateSyncStorage::errorString
    \brief the last error the storage met, or an empty string.

    \sa errorOccurred()
*/

/*!
    \fn void QStateSyncStorage::errorOccurred(const QString &message)

    This signal is emitted when the storage cannot open, read or write its data; \a message
    says why. The storage also logs the error (category \c qstatesync.storage).
*/

/*!
    \fn void QStateSyncStorage::attachedChanged()

    This signal is emitted when a server starts or stops using this storage.
*/

/*!
    \internal
*/
QStateSyncStorage::QStateSyncStorage(std::unique_ptr<QStateSyncStoragePrivate> d, QObject *parent)
    : QObject(parent)
    , d_ptr(std::move(d))
{
    d_ptr->q = this;
}

/*!
    Destroys the storage. A server that still uses it goes on in memory; what it wrote
    before is stored first.
*/
QStateSyncStorage::~QStateSyncStorage() = default;

bool QStateSyncStorage::isAttached() const
{
    return d_ptr->attached;
}

QString QStateSyncStorage::errorString() const
{
    std::lock_guard lock(d_ptr->errorMutex);
    return d_ptr->errorString;
}

QStateSyncStoragePrivate::~QStateSyncStoragePrivate() = default;

void QStateSyncStoragePrivate::setErrorString(const QString &message)
{
    std::lock_guard lock(errorMutex);
    errorString = message;
}

void QStateSyncStoragePrivate::reportError(const QString &message, bool log)
{
    setErrorString(message);
    if (log)
        qCWarning(lcStateSyncStorage).noquote() << message;
    Q_EMIT q->errorOccurred(message);
}

void QStateSyncStoragePrivate::closeAndReport()
{
    const quint64 stored = close();
    // A copy: the callback may detach the storage, which clears it.
    if (const auto callback = committed)
        callback(stored);
}
