// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncoutput_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"
#include "qstatesyncserverstate_p.h"

using namespace QStateSyncProtocol;

void QStateSyncConflation::clear()
{
    m_active = false;
    m_snapshot = false;
    m_patch = QJsonObject();
    m_patchValueSizes.clear();
    m_patchBytes = 0;
    m_keys.clear();
    m_requestIds = QJsonArray();
}

void QStateSyncConflation::addPatch(const QJsonObject &patch, QStateSync::MergeMode mode,
                                    qint64 capBytes)
{
    if (m_snapshot)
        return; // the snapshot, made when it is sent, has everything
    if (!QStateSyncMerge::composeInto(m_patch, patch, mode)) {
        requireSnapshot();
        return;
    }
    // The composed patch's size is kept per top-level key, like a state's: only the keys
    // this patch touched are measured again.
    for (auto it = patch.constBegin(), end = patch.constEnd(); it != end; ++it) {
        m_patchBytes -= m_patchValueSizes.value(it.key());
        const qint64 bytes = toJson(it.key()).size() + 2 + toJson(m_patch.value(it.key())).size();
        m_patchValueSizes.insert(it.key(), bytes);
        m_patchBytes += bytes;
    }
    if (capBytes > 0 && m_patchBytes > capBytes)
        requireSnapshot();
}

void QStateSyncConflation::addKeys(const QJsonObject &changes)
{
    for (auto it = changes.constBegin(), end = changes.constEnd(); it != end; ++it)
        m_keys.insert(it.key());
}

void QStateSyncConflation::requireSnapshot()
{
    m_snapshot = true;
    m_patch = QJsonObject();
    m_patchValueSizes.clear();
    m_patchBytes = 0;
    m_keys.clear();
}

void QStateSyncConflation::acknowledge(const QJsonValue &requestId)
{
    if (!requestId.isUndefined() && !requestId.isNull())
        m_requestIds.append(requestId);
}

QByteArray QStateSyncConflation::message(const QStateSyncServerState &state, bool v2,
                                         qint64 presenceId) const
{
    if (m_snapshot) {
        return encodeConnectionEstablished(state.identifier, state.publishedValue(),
                                           state.publishedVersion(), state.options.mergeMode(),
                                           v2 ? state.presence() : QJsonArray(), presenceId,
                                           m_requestIds);
    }
    QJsonObject updates = m_patch;
    if (!v2) {
        QJsonObject touched;
        for (const QString &key : m_keys)
            touched.insert(key, QJsonValue::Null);
        updates = QStateSyncMerge::topLevelValues(state.publishedValue(), touched);
    }
    return encodeConflatedUpdate(updates, state.publishedVersion(), m_requestIds);
}
