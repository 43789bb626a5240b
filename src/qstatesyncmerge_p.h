// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCMERGE_P_H
#define QSTATESYNCMERGE_P_H

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

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsonobject.h>
#include <QtCore/qjsonvalue.h>
#include <QtCore/qstringlist.h>

#include <optional>

// How state values change: the one place where merge, append and the depth rules live,
// shared by the server (which applies updates) and the client (which mirrors them).
namespace QStateSyncMerge {

// RFC 7386 JSON Merge Patch of patch onto target, in place.
Q_STATESYNC_EXPORT void applyMergePatch(QJsonObject &target, const QJsonObject &patch);

// The original server-state-sync merge: top-level keys replace, null is stored.
Q_STATESYNC_EXPORT void applyShallow(QJsonObject &target, const QJsonObject &patch);

Q_STATESYNC_EXPORT void apply(QJsonObject &target, const QJsonObject &patch,
                              QStateSync::MergeMode mode);

// Composes two patches into one: applying the result does what applying first, then
// second, does, to any target. Shallow patches always compose (top-level keys replace).
// Merge patches (RFC 7386) do not when first puts a non-object (a scalar, an array or
// null) at a path where second puts an object: second then starts that path from {},
// which no single merge patch can say. std::nullopt then.
Q_STATESYNC_EXPORT std::optional<QJsonObject>
compose(const QJsonObject &first, const QJsonObject &second,
        QStateSync::MergeMode mode = QStateSync::MergeMode::Deep);

// compose() in place: composes next into composed and returns true, or returns false,
// leaving composed partly changed, when they do not compose.
Q_STATESYNC_EXPORT bool composeInto(QJsonObject &composed, const QJsonObject &next,
                                    QStateSync::MergeMode mode);

// Appends each array in appends to the array at the same key of target (a missing or null
// key starts an empty array). All or nothing: when a key of target holds something other
// than an array, or a value of appends is not an array, nothing changes, false is returned
// and *failedKey names the key.
Q_STATESYNC_EXPORT bool applyAppend(QJsonObject &target, const QJsonObject &appends,
                                    QString *failedKey = nullptr);

// For every key of touched, the whole value that key has in value (null when absent):
// what a client that merges one level deep must receive to stay equal to value.
Q_STATESYNC_EXPORT QJsonObject topLevelValues(const QJsonObject &value, const QJsonObject &touched);

// The top-level keys whose values differ between before and after, in either.
Q_STATESYNC_EXPORT QStringList changedKeys(const QJsonObject &before, const QJsonObject &after);

// The value with the element at path (object keys, or indexes into arrays; an index equal
// to an array's size appends) replaced by replacement, creating objects on the way.
Q_STATESYNC_EXPORT QJsonValue setAt(const QJsonValue &value, const QStringList &path,
                                    const QJsonValue &replacement);

// The smallest merge patch that sets path in value to replacement: nested objects down to
// the first array on the way, which is then sent whole (merge patches replace arrays).
Q_STATESYNC_EXPORT QJsonObject patchAt(const QJsonObject &value, const QStringList &path,
                                       const QJsonValue &replacement);

// Nesting depth of a value: a scalar is 0, {} and [] are 1, {"a":[]} is 2.
Q_STATESYNC_EXPORT int depth(const QJsonValue &value);
Q_STATESYNC_EXPORT int depth(const QJsonObject &object);

// Nesting depth of JSON text without parsing it, stopping as soon as it passes limit:
// returns a value greater than limit when the text nests deeper than limit. Brackets
// inside strings do not count. Works on any text; invalid JSON is the parser's business.
Q_STATESYNC_EXPORT int textDepth(QByteArrayView json, int limit);
Q_STATESYNC_EXPORT int textDepth(QStringView json, int limit);

} // namespace QStateSyncMerge

#endif // QSTATESYNCMERGE_P_H
