// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCSHAREDSTORAGE_P_H
#define QSTATESYNCSHAREDSTORAGE_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncnamespace.h"
#include "qstatesyncstorage_p.h"
#include "qstatesyncupdaterequest.h"

#include <QtCore/qhash.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qlist.h>
#include <QtCore/qstring.h>

#include <functional>

// A change as the nodes of a cluster share it.
struct QStateSyncSharedChange
{
    QStateSyncUpdateRequest::Kind kind = QStateSyncUpdateRequest::Update;
    QJsonObject changes;
};

// Changes a node applied to a state, in order, from the version after base on.
struct QStateSyncSharedBatch
{
    QString identifier;
    qint64 baseVersion = 0;
    QList<QStateSyncSharedChange> changes;
    // The state's top-level values the batch touched, as they are after it; an undefined
    // value: the key went.
    QJsonObject touched;
    QStringList removedKeys;
};

// A storage that shares its states with other servers (the nodes of a cluster): the
// value and version of each state live in the storage, and every node applies every
// change in the one order the storage gave it.
//
// A node follows the states its clients joined: it hears their changes (published()),
// and submits its own clients' changes (submit()) as a batch computed on the value at a
// version, which the storage applies only if the state is still at that version. All calls
// and callbacks are on the server's thread.
class QStateSyncSharedStorage
{
public:
    virtual ~QStateSyncSharedStorage();

    // This node's name in the cluster: unique among the nodes sharing the storage.
    virtual QString nodeIdentifier() const = 0;

    // Creates the state unless the storage has it already. Returns Created, Exists (and
    // *existing holds what is stored), or Failed (errorString says why).
    enum class CreateResult { Created, Exists, Failed };
    virtual CreateResult createState(const QStateSyncStoredState &state,
                                     QStateSyncStoredState *existing)
            = 0;
    // Removes the state unless another node did first; with dueAt (milliseconds since the
    // epoch), only if its ttl deadline is at or before it. Removed: this node removed it,
    // and the other nodes hear of it (removedElsewhere); Absent: it was gone already;
    // NotDue: its ttl deadline is later; Failed: Redis could not be asked (errorString).
    enum class RemoveResult { Removed, Absent, NotDue, Failed };
    virtual RemoveResult removeState(const QString &identifier, QStateSync::RemovalReason reason,
                                     qint64 dueAt = 0)
            = 0;

    // Reads the state's value, version and options now (blocking). False when Redis
    // cannot be asked or does not have the state (errorString says which).
    virtual bool readState(const QString &identifier, QStateSyncStoredState *state) = 0;
    // Starts hearing the state's changes, then reads its value: synced() follows.
    virtual void follow(const QString &identifier) = 0;
    virtual void unfollow(const QString &identifier) = 0;
    // Reads the state's value and version again: synced() follows.
    virtual void resync(const QString &identifier) = 0;
    // Sends the batch; returns its token (submitted() names it).
    virtual quint64 submit(const QStateSyncSharedBatch &batch) = 0;
    // Records that ownCount of this node's clients joined the state, and returns how many
    // joined it on all the nodes that are alive, or -1 when Redis cannot tell. Blocks:
    // kept for the states that can self-destruct.
    virtual int countClients(const QString &identifier, int ownCount) = 0;

    // Set by the server; cleared when it lets go of the storage.
    void clearCallbacks()
    {
        synced = nullptr;
        published = nullptr;
        submitted = nullptr;
        createdElsewhere = nullptr;
        removedElsewhere = nullptr;
        reconnected = nullptr;
    }
    // The state's value and version as stored; lastToken: the last batch of this node it
    // applied. found is false when the storage does not have the state.
    std::function<void(const QStateSyncStoredState &state, bool found, quint64 lastToken)> synced;
    // Changes applied to a followed state, from firstVersion on, in order; origin and token
    // name the node and batch.
    std::function<void(const QString &identifier, qint64 firstVersion,
                       const QList<QStateSyncSharedChange> &changes, const QString &origin,
                       quint64 token)>
            published;
    // The answer to submit(): applied, or the state had moved on to currentVersion (or is
    // gone: currentVersion -1). Unknown: no answer (the connection was lost, Redis failed,
    // or a read fenced the batch off); the next read of the state tells.
    enum class SubmitResult { Applied, Conflict, Gone, Unknown };
    std::function<void(const QString &identifier, quint64 token, SubmitResult result,
                       qint64 currentVersion)>
            submitted;
    std::function<void(const QStateSyncStoredState &state)> createdElsewhere;
    std::function<void(const QString &identifier, QStateSync::RemovalReason reason)>
            removedElsewhere;
    // The storage reconnected after losing the connection: what was followed is followed
    // again, and every followed state must be read again.
    std::function<void()> reconnected;
};

#endif // QSTATESYNCSHAREDSTORAGE_P_H
