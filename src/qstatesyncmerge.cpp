// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncmerge_p.h"

namespace QStateSyncMerge {

void applyMergePatch(QJsonObject &target, const QJsonObject &patch)
{
    for (auto it = patch.constBegin(), end = patch.constEnd(); it != end; ++it) {
        const QJsonValue patchValue = it.value();
        if (patchValue.isNull()) {
            target.remove(it.key());
        } else if (patchValue.isObject()) {
            // take() leaves the child as the only owner of its data, so the nested merge
            // changes it in place instead of copying the subtree.
            QJsonValue current = target.take(it.key());
            QJsonObject child = current.isObject() ? current.toObject() : QJsonObject();
            current = QJsonValue();
            applyMergePatch(child, patchValue.toObject());
            target.insert(it.key(), child);
        } else {
            target.insert(it.key(), patchValue);
        }
    }
}

void applyShallow(QJsonObject &target, const QJsonObject &patch)
{
    for (auto it = patch.constBegin(), end = patch.constEnd(); it != end; ++it)
        target.insert(it.key(), it.value());
}

void apply(QJsonObject &target, const QJsonObject &patch, QStateSync::MergeMode mode)
{
    if (mode == QStateSync::MergeMode::Shallow)
        applyShallow(target, patch);
    else
        applyMergePatch(target, patch);
}

namespace {
bool composeMergePatches(QJsonObject &composed, const QJsonObject &next)
{
    for (auto it = next.constBegin(), end = next.constEnd(); it != end; ++it) {
        const QJsonValue later = it.value();
        if (!later.isObject()) {
            // A scalar, an array or null replaces (or removes) whatever came before.
            composed.insert(it.key(), later);
            continue;
        }
        QJsonValue earlier = composed.take(it.key());
        if (earlier.isUndefined()) {
            composed.insert(it.key(), later);
            continue;
        }
        if (!earlier.isObject())
            return false;
        QJsonObject child = earlier.toObject();
        earlier = QJsonValue();
        const bool ok = composeMergePatches(child, later.toObject());
        composed.insert(it.key(), child);
        if (!ok)
            return false;
    }
    return true;
}
} // namespace

bool composeInto(QJsonObject &composed, const QJsonObject &next, QStateSync::MergeMode mode)
{
    if (mode == QStateSync::MergeMode::Shallow) {
        applyShallow(composed, next);
        return true;
    }
    return composeMergePatches(composed, next);
}

std::optional<QJsonObject> compose(const QJsonObject &first, const QJsonObject &second,
                                   QStateSync::MergeMode mode)
{
    QJsonObject composed = first;
    if (!composeInto(composed, second, mode))
        return std::nullopt;
    return composed;
}

bool applyAppend(QJsonObject &target, const QJsonObject &appends, QString *failedKey)
{
    for (auto it = appends.constBegin(), end = appends.constEnd(); it != end; ++it) {
        const QJsonValue existing = target.value(it.key());
        const bool targetOk = existing.isUndefined() || existing.isNull() || existing.isArray();
        if (!targetOk || !it.value().isArray()) {
            if (failedKey)
                *failedKey = it.key();
            return false;
        }
    }
    for (auto it = appends.constBegin(), end = appends.constEnd(); it != end; ++it) {
        QJsonValue current = target.take(it.key());
        QJsonArray array = current.toArray();
        current = QJsonValue();
        const QJsonArray items = it.value().toArray();
        for (const QJsonValue &item : items)
            array.append(item);
        target.insert(it.key(), array);
    }
    return true;
}

QJsonObject topLevelValues(const QJsonObject &value, const QJsonObject &touched)
{
    QJsonObject result;
    for (auto it = touched.constBegin(), end = touched.constEnd(); it != end; ++it) {
        const QJsonValue current = value.value(it.key());
        result.insert(it.key(), current.isUndefined() ? QJsonValue(QJsonValue::Null) : current);
    }
    return result;
}

QStringList changedKeys(const QJsonObject &before, const QJsonObject &after)
{
    QStringList keys;
    for (auto it = before.constBegin(), end = before.constEnd(); it != end; ++it) {
        if (after.value(it.key()) != it.value())
            keys.append(it.key());
    }
    for (auto it = after.constBegin(), end = after.constEnd(); it != end; ++it) {
        if (!before.contains(it.key()))
            keys.append(it.key());
    }
    return keys;
}

QJsonValue setAt(const QJsonValue &value, const QStringList &path, const QJsonValue &replacement)
{
    if (path.isEmpty())
        return replacement;
    const QStringList rest = path.mid(1);
    if (value.isArray()) {
        QJsonArray array = value.toArray();
        bool isIndex = false;
        const qsizetype index = path.first().toLongLong(&isIndex);
        if (isIndex && index >= 0 && index < array.size()) {
            array.replace(index, setAt(array.at(index), rest, replacement));
            return array;
        }
        if (isIndex && index == array.size()) {
            array.append(setAt(QJsonValue(), rest, replacement));
            return array;
        }
    }
    QJsonObject object = value.toObject();
    object.insert(path.first(), setAt(object.value(path.first()), rest, replacement));
    return object;
}

QJsonObject patchAt(const QJsonObject &value, const QStringList &path,
                    const QJsonValue &replacement)
{
    if (path.isEmpty())
        return QJsonObject();
    const QJsonValue current = value.value(path.first());
    const QStringList rest = path.mid(1);
    QJsonValue patch;
    if (rest.isEmpty())
        patch = replacement;
    else if (current.isArray())
        patch = setAt(current, rest, replacement);
    else
        patch = patchAt(current.toObject(), rest, replacement);
    return QJsonObject{{path.first(), patch}};
}

int depth(const QJsonObject &object)
{
    int deepest = 0;
    for (const QJsonValue &child : object)
        deepest = std::max(deepest, depth(child));
    return deepest + 1;
}

int depth(const QJsonValue &value)
{
    if (value.isObject())
        return depth(value.toObject());
    if (value.isArray()) {
        int deepest = 0;
        const QJsonArray array = value.toArray();
        for (const QJsonValue &child : array)
            deepest = std::max(deepest, depth(child));
        return deepest + 1;
    }
    return 0;
}

namespace {
inline char16_t unit(QChar c)
{
    return c.unicode();
}
inline char16_t unit(char c)
{
    return char16_t(uchar(c));
}

template<typename View>
int scanDepth(View json, int limit)
{
    int level = 0;
    int deepest = 0;
    bool inString = false;
    bool escaped = false;
    for (const auto character : json) {
        const char16_t c = unit(character);
        if (inString) {
            if (escaped)
                escaped = false;
            else if (c == u'\\')
                escaped = true;
            else if (c == u'"')
                inString = false;
            continue;
        }
        switch (c) {
        case u'"':
            inString = true;
            break;
        case u'{':
        case u'[':
            if (++level > deepest) {
                deepest = level;
                if (deepest > limit)
                    return deepest;
            }
            break;
        case u'}':
        case u']':
            if (level > 0)
                --level;
            break;
        default:
            break;
        }
    }
    return deepest;
}
} // namespace

int textDepth(QByteArrayView json, int limit)
{
    return scanDepth(json, limit);
}

int textDepth(QStringView json, int limit)
{
    return scanDepth(json, limit);
}

} // namespace QStateSyncMerge
