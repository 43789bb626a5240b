// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncserverstate_p.h"
#include "qstatesyncconnection_p.h"
#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"

#include <algorithm>
#include <optional>

using namespace QStateSyncProtocol;

QStateSyncServerState::QStateSyncServerState(const QString &identifier,
                                             const QStateSyncStateOptions &options)
    : identifier(identifier)
    , options(options)
    , value(options.initialValue())
    , createdAt(QDateTime::currentDateTimeUtc())
{
    m_sizes.measure(value);
}

QStateSyncServerState::~QStateSyncServerState()
{
    // The state may go away from inside its own timer's timeout().
    if (ttlTimer)
        ttlTimer->deleteLater();
}

namespace {
// A JSON string's size: its text between quotes when nothing in it is escaped or encoded
// in more than one byte, else what the encoder makes of it.
qint64 stringSize(const QString &text)
{
    for (const QChar c : text) {
        const char16_t u = c.unicode();
        if (u < 0x20 || u > 0x7e || u == u'"' || u == u'\\')
            return toJson(text).size();
    }
    return text.size() + 2;
}

// n elements of the given sizes between brackets or braces, with a comma between each two.
qint64 containerSize(qint64 elements, qsizetype count)
{
    return 2 + elements + std::max<qint64>(count - 1, 0);
}
} // namespace

qint64 QStateSyncValueSizes::encodedSize(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
        return 4;
    case QJsonValue::Bool:
        return value.toBool() ? 4 : 5;
    case QJsonValue::String:
        return stringSize(value.toString());
    case QJsonValue::Array: {
        const QJsonArray array = value.toArray();
        qint64 elements = 0;
        for (const QJsonValue &element : array)
            elements += encodedSize(element);
        return containerSize(elements, array.size());
    }
    case QJsonValue::Object: {
        const QJsonObject object = value.toObject();
        qint64 elements = 0;
        for (auto it = object.constBegin(), end = object.constEnd(); it != end; ++it)
            elements += keySize(it.key()) + encodedSize(it.value());
        return containerSize(elements, object.size());
    }
    case QJsonValue::Double:
    case QJsonValue::Undefined:
        break;
    }
    return toJson(value).size();
}

qint64 QStateSyncValueSizes::keySize(const QString &key)
{
    return stringSize(key) + 1;
}

void QStateSyncValueSizes::measure(const QJsonObject &value)
{
    perKey.clear();
    entries = 0;
    for (auto it = value.constBegin(), end = value.constEnd(); it != end; ++it) {
        const qint64 bytes = encodedSize(it.value());
        perKey.insert(it.key(), bytes);
        entries += keySize(it.key()) + bytes;
    }
}

qint64 QStateSyncValueSizes::total(const QJsonObject &value) const
{
    // {"a":1,"b":2}: the braces, the entries, a comma between each two.
    return 2 + entries + std::max<qint64>(value.size() - 1, 0);
}

void QStateSyncServerState::resetValue(const QJsonObject &newValue, qint64 newVersion)
{
    value = newValue;
    version = newVersion;
    m_sizes.measure(value);
}

void QStateSyncServerState::replaceValue(const QJsonObject &newValue)
{
    value = newValue;
    m_sizes.measure(value);
}

void QStateSyncServerState::adoptValue(const QJsonObject &newValue,
                                       const QStateSyncValueSizes &sizes, qint64 newVersion)
{
    value = newValue;
    m_sizes = sizes;
    version = newVersion;
}

qint64 QStateSyncServerState::size() const
{
    return m_sizes.total(value);
}

QStateSyncServerState::ApplyResult QStateSyncServerState::apply(QStateSyncUpdateRequest::Kind kind,
                                                                const QJsonObject &changes,
                                                                qint64 maxSize, QString *failedKey)
{
    return apply(value, m_sizes, options.mergeMode(), kind, changes, maxSize, failedKey);
}

QStateSyncServerState::ApplyResult
QStateSyncServerState::apply(QJsonObject &value, QStateSyncValueSizes &sizes,
                             QStateSync::MergeMode mode, QStateSyncUpdateRequest::Kind kind,
                             const QJsonObject &changes, qint64 maxSize, QString *failedKey)
{
    struct Step
    {
        QString key;
        QJsonValue value; // undefined: the key goes; for an append, the items to add
        qint64 size = 0;
    };
    QList<Step> steps;
    steps.reserve(changes.size());
    qint64 entriesSize = sizes.entries;
    qsizetype keys = value.size();
    const bool append = kind == QStateSyncUpdateRequest::Append;
    const bool deep = mode == QStateSync::MergeMode::Deep;
    for (auto it = changes.constBegin(), end = changes.constEnd(); it != end; ++it) {
        const QJsonValue current = value.value(it.key());
        const bool existed = !current.isUndefined();
        Step step{it.key(), QJsonValue(QJsonValue::Undefined), 0};
        if (append) {
            if ((existed && !current.isNull() && !current.isArray()) || !it.value().isArray()) {
                if (failedKey)
                    *failedKey = it.key();
                return ApplyResult::NotAnArray;
            }
            // [a] + [b,c] is [a,b,c]: the items, and a comma before each unless the array
            // was empty. The array itself is only touched once the change is let through.
            const QJsonArray items = it.value().toArray();
            step.size = current.isArray() ? sizes.perKey.value(it.key()) : 2;
            for (const QJsonValue &item : items)
                step.size += QStateSyncValueSizes::encodedSize(item) + 1;
            if (current.toArray().isEmpty() && !items.isEmpty())
                --step.size;
            step.value = items;
        } else if (deep && it.value().isNull()) {
            // The key goes; its size is 0.
        } else if (deep && it.value().isObject()) {
            QJsonObject merged = current.toObject();
            QStateSyncMerge::applyMergePatch(merged, it.value().toObject());
            step.value = merged;
            step.size = QStateSyncValueSizes::encodedSize(merged);
        } else {
            step.value = it.value();
            step.size = QStateSyncValueSizes::encodedSize(step.value);
        }
        if (existed)
            entriesSize -= QStateSyncValueSizes::keySize(it.key()) + sizes.perKey.value(it.key());
        if (!step.value.isUndefined())
            entriesSize += QStateSyncValueSizes::keySize(it.key()) + step.size;
        keys += (step.value.isUndefined() ? 0 : 1) - (existed ? 1 : 0);
        steps.append(std::move(step));
    }
    const qint64 newSize = 2 + entriesSize + std::max<qint64>(keys - 1, 0);
    if (maxSize > 0 && newSize > maxSize && newSize > sizes.total(value))
        return ApplyResult::TooLarge;
    for (Step &step : steps) {
        if (step.value.isUndefined()) {
            value.remove(step.key);
            sizes.perKey.remove(step.key);
            continue;
        }
        sizes.perKey.insert(step.key, step.size);
        if (!append) {
            value.insert(step.key, step.value);
            continue;
        }
        // take() leaves the array with a single owner, so the items are added in place
        // instead of copying a long array for every append.
        QJsonValue current = value.take(step.key);
        QJsonArray array = current.toArray();
        current = QJsonValue();
        const QJsonArray items = step.value.toArray();
        for (const QJsonValue &item : items)
            array.append(item);
        value.insert(step.key, array);
    }
    sizes.entries = entriesSize;
    return ApplyResult::Applied;
}

void QStateSyncServerState::broadcast(QStateSyncUpdateRequest::Kind kind,
                                      const QJsonObject &changes, const QJsonObject &valueAfter,
                                      qint64 versionAfter, const QStateSyncConnection *sender,
                                      const QJsonValue &requestId) const
{
    QStateSyncEncodedChange encoded;
    broadcast(kind, changes, &valueAfter, encoded, versionAfter, sender, requestId);
}

void QStateSyncServerState::broadcast(QStateSyncUpdateRequest::Kind kind,
                                      const QJsonObject &changes,
                                      const QStateSyncEncodedChange &encoded, qint64 versionAfter,
                                      const QStateSyncConnection *sender,
                                      const QJsonValue &requestId) const
{
    // The frames are shared, not copied; one missing is made here, into this copy.
    QStateSyncEncodedChange frames = encoded;
    broadcast(kind, changes, nullptr, frames, versionAfter, sender, requestId);
}

void QStateSyncServerState::broadcast(QStateSyncUpdateRequest::Kind kind,
                                      const QJsonObject &changes, const QJsonObject *valueAfter,
                                      QStateSyncEncodedChange &encoded, qint64 versionAfter,
                                      const QStateSyncConnection *sender,
                                      const QJsonValue &requestId) const
{
    const bool acknowledge = sender && !requestId.isUndefined() && !requestId.isNull();
    const bool append = kind == QStateSyncUpdateRequest::Append;
    const int v2Type = append ? MessageType::StateAppended : MessageType::StateUpdated;
    // Each form is made when the first client needs it, unless it was made ahead.
    bool haveTouchedValues = !valueAfter;
    const auto touchedValues = [&]() -> const QJsonObject & {
        if (!haveTouchedValues) {
            encoded.touchedValues = QStateSyncMerge::topLevelValues(*valueAfter, changes);
            haveTouchedValues = true;
        }
        return encoded.touchedValues;
    };
    std::optional<Broadcast> v2Message;
    std::optional<Broadcast> v1Message;
    const auto frame
            = [&](QByteArray &made, bool v2, const QJsonValue &ownRequestId) -> const QByteArray & {
        if (made.isEmpty()) {
            std::optional<Broadcast> &message = v2 ? v2Message : v1Message;
            if (!message && v2)
                message.emplace(v2Type, changes, versionAfter);
            else if (!message)
                message.emplace(MessageType::StateUpdated, touchedValues(), versionAfter);
            made = message->frame(ownRequestId);
        }
        return made;
    };

    for (QStateSyncConnection *client : clients) {
        const bool own = acknowledge && client == sender;
        const QJsonValue ownRequestId = own ? requestId : QJsonValue(QJsonValue::Undefined);
        if (client->isV2()) {
            if (client->isCongested()) {
                // As a patch, an append is the whole new arrays of its keys.
                client->conflateChange(append ? touchedValues() : changes, options.mergeMode(),
                                       ownRequestId);
            } else {
                client->sendFrame(own ? frame(encoded.acknowledgementFrame, true, requestId)
                                      : frame(encoded.v2Frame, true, ownRequestId));
            }
        } else {
            if (client->isCongested())
                client->conflateKeys(changes, ownRequestId);
            else
                client->sendFrame(own ? frame(encoded.acknowledgementFrame, false, requestId)
                                      : frame(encoded.v1Frame, false, ownRequestId));
        }
    }
}

QJsonArray QStateSyncServerState::presence() const
{
    QJsonArray entries;
    for (const QStateSyncConnection *client : clients)
        entries.append(client->presenceEntry());
    return entries;
}

void QStateSyncServerState::broadcastPresence(const char *event, const QJsonObject &entry,
                                              const QStateSyncConnection *except) const
{
    QByteArray frame;
    for (QStateSyncConnection *client : clients) {
        if (client == except || !client->isV2())
            continue;
        if (client->isCongested()) {
            client->conflatePresence();
            continue;
        }
        if (frame.isEmpty())
            frame = textFrame(encodePresenceChanged(event, entry));
        client->sendFrame(frame);
    }
}
