// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSTORAGE_P_H
#define QSTATESYNCSTORAGE_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncnamespace.h"
#include "qstatesyncstorage.h"
#include "qstatesyncupdaterequest.h"

#include <QtCore/qjsonobject.h>
#include <QtCore/qlist.h>
#include <QtCore/qpointer.h>
#include <QtCore/qstring.h>

#include <functional>
#include <mutex>

// A state as a storage keeps it: what survives a restart. Hooks, filters and interceptors
// are code, and come back when the application creates the state again.
struct QStateSyncStoredState
{
    QString identifier;
    QStateSync::MergeMode mergeMode = QStateSync::MergeMode::Deep;
    QJsonObject value;
    qint64 version = 0;
    qint64 createdAt = 0; // milliseconds since the epoch
    qint64 ttlDeadline = 0; // milliseconds since the epoch; 0: no ttl
    // How many stored changes open() applied on top of the stored snapshot: the next
    // snapshot is due that many changes earlier.
    int replayedChanges = 0;
};

// What the server asks of a storage. Every call is made on the server's thread; writes
// return a sequence number, and the storage calls `committed` (on the thread of
// `context`, the server) with the highest sequence number whose write, and every write
// before it, is stored.
class QStateSyncStoragePrivate
{
public:
    virtual ~QStateSyncStoragePrivate();

    // Opens the storage and reads every state it keeps, with its latest stored value and
    // version. States whose ttl deadline has passed are forgotten. On failure: false, and
    // errorString says why.
    virtual bool open(QList<QStateSyncStoredState> *states) = 0;
    // Stores everything written so far, then closes. Blocks until done. Returns the
    // highest sequence number stored with every write before it (what `committed` would
    // have reported): the writes after it were not stored.
    virtual quint64 close() = 0;
    // True when the server must not show a change to anyone (echo, broadcast, signal)
    // before `committed` reports it stored.
    virtual bool holdsChanges() const = 0;
    // False while so many writes wait to be stored (the disk fails, or is slower than the
    // changes) that the server must refuse new changes; *reason then says why.
    virtual bool acceptsChanges(QString *reason) const
    {
        Q_UNUSED(reason);
        return true;
    }

    // A state created (or its options changed): its value and version replace what was
    // stored under its identifier.
    virtual quint64 saveState(const QStateSyncStoredState &state) = 0;
    virtual quint64 removeState(const QString &identifier) = 0;
    // A change applied to a state, which brought it to `version`.
    virtual quint64 saveChange(const QString &identifier, qint64 version,
                               QStateSyncUpdateRequest::Kind kind, const QJsonObject &changes)
            = 0;
    // The whole value at `version`, which makes the changes up to it unnecessary.
    virtual quint64 saveSnapshot(const QString &identifier, const QJsonObject &value,
                                 qint64 version)
            = 0;

    // A storage whose states other servers share (a cluster), or null.
    virtual class QStateSyncSharedStorage *shared() { return nullptr; }

    // Sets errorString, logs (unless log is false) and emits errorOccurred; on the
    // server's thread.
    void reportError(const QString &message, bool log = true);
    void setErrorString(const QString &message);
    // Closes, then reports what the last write stored to `committed` at once: for a
    // storage's destructor, after which nothing posted would arrive.
    void closeAndReport();
    static QStateSyncStoragePrivate *get(QStateSyncStorage *storage)
    {
        return storage->d_ptr.get();
    }

    QStateSyncStorage *q = nullptr;
    // The object whose thread runs `committed` and the errors of the storage's own
    // thread: the server, which may move to another thread, or else the storage.
    QPointer<QObject> context;
    mutable std::mutex errorMutex; // errorString may be read from another thread
    QString errorString;
    bool attached = false;
    std::function<void(quint64 sequence)> committed;
};

#endif // QSTATESYNCSTORAGE_P_H
