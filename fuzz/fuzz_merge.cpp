// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// Fuzzes how state values change (qstatesyncmerge_p.h): merge patch, shallow merge,
// append, the top-level values sent to one-level-deep clients, depth, setAt and patchAt.
//
// The input is up to five lines:
//   1. the target, a JSON object
//   2. the patch, a JSON object
//   3. appends, a JSON object (arrays to append, or anything else to be refused)
//   4. a path for setAt/patchAt, its keys separated by '/'
//   5. the value to set there, any JSON value
// A line that is not what it should be reads as an empty object (1 to 3) or skips the
// checks that need it (4 and 5).

#include "fuzzsupport.h"

#include "qstatesyncmerge_p.h"

#include <QtCore/qset.h>

#include <limits>

using namespace QStateSyncMerge;
using FuzzSupport::show;

namespace {

QSet<QString> keySet(const QJsonObject &object)
{
    const QStringList keys = object.keys();
    return QSet<QString>(keys.cbegin(), keys.cend());
}

// RFC 7386, section 2, as its pseudocode says.
QJsonValue referenceMergePatch(const QJsonValue &target, const QJsonValue &patch)
{
    if (!patch.isObject())
        return patch;
    QJsonObject result = target.isObject() ? target.toObject() : QJsonObject();
    const QJsonObject members = patch.toObject();
    for (auto it = members.constBegin(), end = members.constEnd(); it != end; ++it) {
        if (it.value().isNull())
            result.remove(it.key());
        else
            result.insert(it.key(), referenceMergePatch(result.value(it.key()), it.value()));
    }
    return result;
}

// depth() of a value equals textDepth() of its text, whatever the limit, for both views.
void checkDepth(const QJsonObject &object)
{
    const int depth = QStateSyncMerge::depth(object);
    FUZZ_CHECK(depth >= 1 && depth == QStateSyncMerge::depth(QJsonValue(object)), show(object));
    for (const auto format : {QJsonDocument::Compact, QJsonDocument::Indented}) {
        const QByteArray text = QJsonDocument(object).toJson(format);
        const QString utf16 = QString::fromUtf8(text);
        for (const int limit : {std::numeric_limits<int>::max(), depth, depth - 1, 0}) {
            const int expected = limit >= depth ? depth : limit + 1;
            FUZZ_CHECK(textDepth(QByteArrayView(text), limit) == expected,
                       "limit " + QByteArray::number(limit) + ", depth " + QByteArray::number(depth)
                               + ": " + text);
            FUZZ_CHECK(textDepth(QStringView(utf16), limit) == expected,
                       "limit " + QByteArray::number(limit) + ": " + text);
        }
    }
}

void checkMergePatch(const QJsonObject &target, const QJsonObject &patch)
{
    const QByteArray detail = "target " + show(target) + "\npatch " + show(patch);
    QJsonObject merged = target;
    applyMergePatch(merged, patch);
    FUZZ_CHECK(QJsonValue(merged) == referenceMergePatch(target, patch),
               detail + "\nmerged " + show(merged));

    // A merge patch is idempotent: applying it again changes nothing.
    QJsonObject twice = merged;
    applyMergePatch(twice, patch);
    FUZZ_CHECK(twice == merged, detail + "\nonce " + show(merged) + "\ntwice " + show(twice));

    QJsonObject dispatched = target;
    apply(dispatched, patch, QStateSync::MergeMode::Deep);
    FUZZ_CHECK(dispatched == merged, detail);

    // Only the patch's keys change.
    const QStringList changed = changedKeys(target, merged);
    const QSet<QString> changedSet(changed.cbegin(), changed.cend());
    FUZZ_CHECK(changedSet.size() == changed.size(), detail);
    for (const QString &key : keySet(target) | keySet(merged)) {
        const bool differs = target.value(key) != merged.value(key);
        FUZZ_CHECK(differs == changedSet.contains(key), detail + "\nkey " + key.toUtf8());
        FUZZ_CHECK(!differs || patch.contains(key), detail + "\nkey " + key.toUtf8());
    }

    // What a client that merges one level deep receives: exactly the patch's keys, and
    // with them it ends up equal to the merged value.
    const QJsonObject topLevel = topLevelValues(merged, patch);
    FUZZ_CHECK(keySet(topLevel) == keySet(patch), detail + "\ntop level " + show(topLevel));
    QJsonObject client = target;
    for (auto it = topLevel.constBegin(), end = topLevel.constEnd(); it != end; ++it) {
        const QJsonValue expected
                = merged.contains(it.key()) ? merged.value(it.key()) : QJsonValue(QJsonValue::Null);
        FUZZ_CHECK(it.value() == expected, detail + "\nkey " + it.key().toUtf8());
        if (it.value().isNull())
            client.remove(it.key());
        else
            client.insert(it.key(), it.value());
    }
    FUZZ_CHECK(client == merged, detail + "\nclient " + show(client));

    checkDepth(merged);
}

void checkShallow(const QJsonObject &target, const QJsonObject &patch)
{
    const QByteArray detail = "target " + show(target) + "\npatch " + show(patch);
    QJsonObject merged = target;
    applyShallow(merged, patch);
    // Every top-level key of the patch is set to the patch's value, null included; the
    // others keep theirs.
    for (auto it = patch.constBegin(), end = patch.constEnd(); it != end; ++it) {
        FUZZ_CHECK(merged.contains(it.key()) && merged.value(it.key()) == it.value(),
                   detail + "\nkey " + it.key().toUtf8());
    }
    for (auto it = target.constBegin(), end = target.constEnd(); it != end; ++it) {
        FUZZ_CHECK(patch.contains(it.key()) || merged.value(it.key()) == it.value(),
                   detail + "\nkey " + it.key().toUtf8());
    }
    FUZZ_CHECK(keySet(merged) == (keySet(target) | keySet(patch)), detail);

    QJsonObject twice = merged;
    applyShallow(twice, patch);
    FUZZ_CHECK(twice == merged, detail);
    QJsonObject dispatched = target;
    apply(dispatched, patch, QStateSync::MergeMode::Shallow);
    FUZZ_CHECK(dispatched == merged, detail);
}

void checkAppend(const QJsonObject &target, const QJsonObject &appends)
{
    const QByteArray detail = "target " + show(target) + "\nappends " + show(appends);
    auto acceptable = [&](const QString &key) {
        const QJsonValue existing = target.value(key);
        return appends.value(key).isArray()
                && (existing.isUndefined() || existing.isNull() || existing.isArray());
    };
    bool expectedOk = true;
    for (auto it = appends.constBegin(), end = appends.constEnd(); it != end; ++it)
        expectedOk = expectedOk && acceptable(it.key());

    QJsonObject result = target;
    QString failedKey;
    const bool ok = applyAppend(result, appends, &failedKey);
    FUZZ_CHECK(ok == expectedOk, detail);
    QJsonObject withoutKey = target;
    FUZZ_CHECK(applyAppend(withoutKey, appends) == ok && withoutKey == result, detail);

    if (!ok) {
        // All or nothing: a refused append leaves the target as it was and names a key
        // that is the reason.
        FUZZ_CHECK(result == target, detail + "\nafter " + show(result));
        FUZZ_CHECK(appends.contains(failedKey) && !acceptable(failedKey),
                   detail + "\nfailed key " + failedKey.toUtf8());
        return;
    }
    FUZZ_CHECK(keySet(result) == (keySet(target) | keySet(appends)), detail);
    for (auto it = result.constBegin(), end = result.constEnd(); it != end; ++it) {
        if (!appends.contains(it.key())) {
            FUZZ_CHECK(it.value() == target.value(it.key()), detail);
            continue;
        }
        QJsonArray expected = target.value(it.key()).toArray();
        for (const QJsonValue &item : appends.value(it.key()).toArray())
            expected.append(item);
        FUZZ_CHECK(it.value() == QJsonValue(expected),
                   detail + "\nkey " + it.key().toUtf8() + ": " + show(it.value()));
    }
    checkDepth(result);
}

// The element at path as setAt() addresses it.
QJsonValue valueAt(const QJsonValue &value, const QStringList &path)
{
    QJsonValue current = value;
    for (const QString &key : path) {
        bool isIndex = false;
        const qsizetype index = key.toLongLong(&isIndex);
        if (current.isArray() && isIndex && index >= 0 && index < current.toArray().size())
            current = current.toArray().at(index);
        else
            current = current.toObject().value(key);
    }
    return current;
}

void checkSetAt(const QJsonObject &target, const QStringList &path, const QJsonValue &replacement)
{
    const QByteArray detail = "target " + show(target) + "\npath "
            + path.join(QLatin1Char('/')).toUtf8() + "\nreplacement " + show(replacement);
    const QJsonValue set = setAt(target, path, replacement);
    FUZZ_CHECK(set.isObject(), detail);
    FUZZ_CHECK(valueAt(set, path) == replacement, detail + "\nset " + show(set));

    const QJsonObject patch = patchAt(target, path, replacement);
    FUZZ_CHECK(patch.size() == 1 && patch.contains(path.first()),
               detail + "\npatch " + show(patch));
    // A merge patch deletes with null and merges objects into what is there, so only other
    // values are set exactly as setAt() sets them.
    if (replacement.isNull() || replacement.isObject())
        return;
    QJsonObject patched = target;
    applyMergePatch(patched, patch);
    FUZZ_CHECK(QJsonValue(patched) == set,
               detail + "\npatch " + show(patch) + "\npatched " + show(patched) + "\nset "
                       + show(set));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input = FuzzSupport::view(data, size);
    if (FuzzSupport::qtJsonMisreads(input))
        return 0;
    const QList<QByteArrayView> lines = FuzzSupport::splitLines(input, 5);
    const QJsonObject target = FuzzSupport::objectOrEmpty(lines.value(0));
    const QJsonObject patch = FuzzSupport::objectOrEmpty(lines.value(1));
    const QJsonObject appends = FuzzSupport::objectOrEmpty(lines.value(2));

    checkDepth(target);
    checkDepth(patch);
    checkMergePatch(target, patch);
    checkShallow(target, patch);
    checkAppend(target, appends);

    if (lines.size() == 5) {
        const QStringList path = QString::fromUtf8(lines.at(3)).split(QLatin1Char('/'));
        const QJsonValue replacement = FuzzSupport::value(lines.at(4));
        if (!replacement.isUndefined())
            checkSetAt(target, path, replacement);
    }
    return 0;
}
