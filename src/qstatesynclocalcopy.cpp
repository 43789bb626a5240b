// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynclocalcopy_p.h"
#include "qstatesyncmerge_p.h"

#include <algorithm>

namespace {
void applyOne(QJsonObject &target, QStateSyncLocalCopy::Kind kind, const QJsonObject &changes,
              QStateSync::MergeMode mode)
{
    if (kind == QStateSyncLocalCopy::Kind::Append)
        QStateSyncMerge::applyAppend(target, changes); // all or nothing: a misfit shows nothing
    else
        QStateSyncMerge::apply(target, changes, mode);
}
} // namespace

bool QStateSyncLocalCopy::shows(const Operation &operation) const
{
    return m_optimistic && operation.stateIdentifier == m_stateIdentifier;
}

QJsonValue QStateSyncLocalCopy::visibleAt(const QString &key) const
{
    // Changes work key by key (merge, replace and append never cross top-level keys), so
    // one key's visible value is the server's with the pending changes of that key on top.
    QJsonObject one;
    const auto server = m_server.constFind(key);
    if (server != m_server.constEnd())
        one.insert(key, *server);
    for (const Operation &operation : m_pending) {
        if (!shows(operation))
            continue;
        const auto change = operation.changes.constFind(key);
        if (change != operation.changes.constEnd())
            applyOne(one, operation.kind, QJsonObject{{key, *change}}, m_mergeMode);
    }
    return one.value(key);
}

void QStateSyncLocalCopy::refresh(const QStringList &keys, Diff *diff)
{
    for (const QString &key : keys) {
        const QJsonValue before = m_visible.value(key);
        const QJsonValue after = visibleAt(key);
        if (before == after)
            continue;
        if (after.isUndefined())
            m_visible.remove(key);
        else
            m_visible.insert(key, after);
        if (diff && !diff->keys.contains(key)) {
            diff->keys.append(key);
            if (!before.isUndefined())
                diff->previous.insert(key, before);
        }
    }
}

QStateSyncLocalCopy::Diff QStateSyncLocalCopy::setOptimistic(bool optimistic)
{
    Diff diff;
    if (m_optimistic == optimistic)
        return diff;
    m_optimistic = optimistic;
    QStringList touched;
    for (const Operation &operation : std::as_const(m_pending))
        touched += operation.changes.keys();
    touched.removeDuplicates();
    refresh(touched, &diff);
    return diff;
}

QStateSyncLocalCopy::Diff QStateSyncLocalCopy::reset(const QString &stateIdentifier,
                                                     const QJsonObject &serverValue, qint64 version)
{
    Diff diff;
    QStringList confirmed;
    m_pending.removeIf([&confirmed](const Operation &operation) {
        if (operation.acknowledged)
            confirmed += operation.changes.keys();
        return operation.acknowledged;
    });
    const bool sameState = stateIdentifier == m_stateIdentifier;
    m_stateIdentifier = stateIdentifier;
    m_server = serverValue;
    m_version = version;
    if (!sameState) {
        // Another state: nothing to compare with, the whole value is new and the caller
        // shows it as such.
        m_visible = serverValue;
        QStringList touched;
        for (const Operation &operation : std::as_const(m_pending)) {
            if (shows(operation))
                touched += operation.changes.keys();
        }
        touched.removeDuplicates();
        refresh(touched, nullptr);
        return diff;
    }
    QStringList touched = QStateSyncMerge::changedKeys(m_visible, serverValue) + confirmed;
    for (const Operation &operation : std::as_const(m_pending)) {
        if (shows(operation))
            touched += operation.changes.keys();
    }
    touched.removeDuplicates();
    refresh(touched, &diff);
    return diff;
}

bool QStateSyncLocalCopy::applyServerChange(Kind kind, const QJsonObject &changes, qint64 version,
                                            const QList<qint64> &confirmed, Diff *diff)
{
    if (kind == Kind::Append) {
        if (!QStateSyncMerge::applyAppend(m_server, changes))
            return false;
    } else {
        QStateSyncMerge::apply(m_server, changes, m_mergeMode);
    }
    m_version = version;
    QStringList touched = changes.keys();
    if (!confirmed.isEmpty()) {
        m_pending.removeIf([&](const Operation &operation) {
            if (!confirmed.contains(operation.requestId))
                return false;
            touched += operation.changes.keys();
            return true;
        });
        touched.removeDuplicates();
    }
    if (m_pending.isEmpty()) {
        // Nothing pending: the visible value is the server's; share it and only compare.
        Diff local;
        for (const QString &key : std::as_const(touched)) {
            const QJsonValue before = m_visible.value(key);
            if (before == m_server.value(key) || local.keys.contains(key))
                continue;
            local.keys.append(key);
            if (!before.isUndefined())
                local.previous.insert(key, before);
        }
        m_visible = m_server;
        if (diff) {
            for (const QString &key : std::as_const(local.keys)) {
                if (diff->keys.contains(key))
                    continue;
                diff->keys.append(key);
                if (local.previous.contains(key))
                    diff->previous.insert(key, local.previous.value(key));
            }
        }
        return true;
    }
    refresh(touched, diff);
    return true;
}

QStateSyncLocalCopy::Diff QStateSyncLocalCopy::addPending(const Operation &operation)
{
    Diff diff;
    m_pending.append(operation);
    if (shows(operation))
        refresh(operation.changes.keys(), &diff);
    return diff;
}

QStateSyncLocalCopy::Diff QStateSyncLocalCopy::removePending(qint64 requestId)
{
    Diff diff;
    takePending(
            [requestId](const Operation &operation) { return operation.requestId == requestId; },
            &diff);
    return diff;
}

QStateSyncLocalCopy::Operation *QStateSyncLocalCopy::findPending(qint64 requestId)
{
    for (Operation &operation : m_pending) {
        if (operation.requestId == requestId)
            return &operation;
    }
    return nullptr;
}
