// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCOUTPUT_P_H
#define QSTATESYNCOUTPUT_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qstatesyncnamespace.h"

#include <QtCore/qhash.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qset.h>

class QStateSyncServerState;

// What a slow client missed while its outgoing queue was over the limit, in the least
// that brings it up to date in one message once the queue has drained:
// - a v1 client: the top-level keys the changes touched; it is sent their current whole
//   values, exactly what v1 clients always receive;
// - a v2 client: the changes composed into one merge patch (QStateSyncMerge::compose());
//   or, when they do not compose, when the patch grows past its cap, or when presence
//   changed, a snapshot: the STATE_CONNECTION_ESTABLISHED a rejoin gets.
// Either way the request ids of the client's own changes that it folds in go with it, as
// their acknowledgement.
class QStateSyncConflation
{
public:
    bool isActive() const { return m_active; }
    void start() { m_active = true; }
    // Drops everything: the client left the state, or was sent what it missed.
    void clear();

    // A change applied to the state, as a patch of it (an append as the whole new arrays
    // of its keys). Past capBytes of composed patch, a snapshot is sent instead.
    void addPatch(const QJsonObject &patch, QStateSync::MergeMode mode, qint64 capBytes);
    void addKeys(const QJsonObject &changes);
    void requireSnapshot();
    void acknowledge(const QJsonValue &requestId);
    bool needsSnapshot() const { return m_snapshot; }
    qsizetype acknowledgements() const { return m_requestIds.size(); }

    // The message that brings the client up to date with state: presenceId is the
    // client's presence entry, or -1 for v1.
    QByteArray message(const QStateSyncServerState &state, bool v2, qint64 presenceId) const;

private:
    bool m_active = false;
    bool m_snapshot = false;
    QJsonObject m_patch;
    QHash<QString, qint64> m_patchValueSizes; // "key":value, and a comma
    qint64 m_patchBytes = 0;
    QSet<QString> m_keys;
    QJsonArray m_requestIds;
};

#endif // QSTATESYNCOUTPUT_P_H
