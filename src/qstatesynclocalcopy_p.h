// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCLOCALCOPY_P_H
#define QSTATESYNCLOCALCOPY_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It exists for the convenience of the
// QStateSync implementation and its tests. It may change from version to version
// without notice, or even be removed.
//

#include "qstatesync_global.h"
#include "qstatesyncnamespace.h"

#include <QtCore/qjsonobject.h>
#include <QtCore/qlist.h>
#include <QtCore/qstringlist.h>

// A client's copy of one state: the server's value as of the last version received, and
// the client's own changes that the server has not confirmed yet, in the order they were
// made. What the application sees is the server's value with those changes applied on
// top (optimistic updates); when the server confirms, corrects or refuses one of them, it
// leaves the list and the copy shows what the server decided.
//
// Every change of the visible value is reported as a Diff: the top-level keys whose
// visible value changed, with the values they had before, so that listeners hear exactly
// what changed.
class Q_STATESYNC_EXPORT QStateSyncLocalCopy
{
public:
    enum class Kind { Update, Append };

    struct Operation
    {
        qint64 requestId = -1;
        Kind kind = Kind::Update;
        QJsonObject changes;
        // The state the change was made for; it shows only on that state's value.
        QString stateIdentifier;
        bool sent = false;
        // The server confirmed it while the client waited for a whole new value, which
        // includes it: it shows until that value arrives, then leaves.
        bool acknowledged = false;
        // The version the server gave it, when acknowledged (-1: the whole value's).
        qint64 acknowledgedVersion = -1;
    };

    struct Diff
    {
        // Changed top-level keys, in the order they were found.
        QStringList keys;
        // The visible value of each key before the change; undefined when it was absent.
        QJsonObject previous;
        bool isEmpty() const { return keys.isEmpty(); }
    };

    QString stateIdentifier() const { return m_stateIdentifier; }
    // The value the application sees: the server's value with the pending changes on top.
    const QJsonObject &value() const { return m_visible; }
    // The server's value as of version().
    const QJsonObject &serverValue() const { return m_server; }
    qint64 version() const { return m_version; }
    void setVersion(qint64 version) { m_version = version; }
    QStateSync::MergeMode mergeMode() const { return m_mergeMode; }
    void setMergeMode(QStateSync::MergeMode mode) { m_mergeMode = mode; }
    // Whether pending changes show in value() before the server confirms them.
    bool isOptimistic() const { return m_optimistic; }
    Diff setOptimistic(bool optimistic);

    // The server's whole value of stateIdentifier (a join, a rejoin or a resync).
    Diff reset(const QString &stateIdentifier, const QJsonObject &serverValue, qint64 version);

    // A change the server applied. The pending operations named in confirmed are
    // included in it (changes being what the server made of them) and leave the list: one
    // for an echo, several for a conflated catch-up. Returns false, changing nothing, when
    // an append does not fit the value (the copy is out of step: resync).
    bool applyServerChange(Kind kind, const QJsonObject &changes, qint64 version,
                           const QList<qint64> &confirmed, Diff *diff);

    Diff addPending(const Operation &operation);
    // Removes a pending operation (refused, or lost); the value shows the server's again.
    Diff removePending(qint64 requestId);
    // Removes the operations matching predicate and returns them, in order; *diff gets
    // what that changed in the visible value.
    template<typename Predicate>
    QList<Operation> takePending(Predicate predicate, Diff *diff);

    const QList<Operation> &pending() const { return m_pending; }
    // How many operations wait for the server: queued, sent and not acknowledged, or
    // acknowledged while the whole value that includes them is still on its way.
    int pendingCount() const { return int(m_pending.size()); }
    Operation *findPending(qint64 requestId);

private:
    QJsonValue visibleAt(const QString &key) const;
    void refresh(const QStringList &keys, Diff *diff);
    bool shows(const Operation &operation) const;

    QString m_stateIdentifier;
    QJsonObject m_server;
    QJsonObject m_visible;
    qint64 m_version = -1;
    QStateSync::MergeMode m_mergeMode = QStateSync::MergeMode::Deep;
    bool m_optimistic = true;
    QList<Operation> m_pending;
};

template<typename Predicate>
QList<QStateSyncLocalCopy::Operation> QStateSyncLocalCopy::takePending(Predicate predicate,
                                                                       Diff *diff)
{
    QList<Operation> taken;
    QStringList touched;
    for (qsizetype i = 0; i < m_pending.size();) {
        if (predicate(m_pending.at(i))) {
            touched += m_pending.at(i).changes.keys();
            taken.append(m_pending.takeAt(i));
        } else {
            ++i;
        }
    }
    touched.removeDuplicates();
    refresh(touched, diff);
    return taken;
}

#endif // QSTATESYNCLOCALCOPY_P_H
