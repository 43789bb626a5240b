// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesyncprotocol_p.h"
#include "qstatesyncmerge_p.h"

#include <QtCore/qjsonarray.h>
#include <QtCore/qjsondocument.h>

#include <atomic>

using QStateSync::Error;

namespace QStateSyncProtocol {

namespace {

ClientMessage refuse(ClientMessage message, Error error, const QString &text, int replyType)
{
    message.error = error;
    message.errorMessage = text;
    message.replyType = replyType;
    return message;
}

bool isIntegral(const QJsonValue &value)
{
    if (!value.isDouble())
        return false;
    // The range check comes first: converting an out-of-range double is undefined.
    const double number = value.toDouble();
    return number >= -2147483648.0 && number <= 2147483647.0 && number == double(int(number));
}

// Reads the optional request id into message; false when it is there but unusable.
bool readRequestId(const QJsonObject &data, ClientMessage &message)
{
    const QJsonValue requestId = data.value(QLatin1String("requestId"));
    if (requestId.isUndefined() || requestId.isNull())
        return true;
    if (requestId.isDouble()
        || (requestId.isString() && requestId.toString().size() <= MaxRequestIdLength)) {
        message.requestId = requestId;
        return true;
    }
    return false;
}

ClientMessage decodeData(ClientMessage message, const QJsonValue &dataValue)
{
    const QJsonObject data = dataValue.toObject();
    const bool dataIsObject = dataValue.isObject();
    switch (message.type) {
    case MessageType::ConnectToState: {
        const QJsonValue identifier = data.value(QLatin1String("stateIdentifier"));
        if (identifier.isUndefined() || identifier.isNull()
            || (identifier.isString() && identifier.toString().isEmpty())) {
            return refuse(message, Error::MissingStateIdentifier,
                          QStringLiteral("No stateIdentifier was provided"),
                          MessageType::StateConnectionError);
        }
        if (!identifier.isString() || identifier.toString().size() > MaxStateIdentifierLength) {
            return refuse(message, Error::InvalidMessage,
                          QStringLiteral("stateIdentifier must be a string of at most %1 "
                                         "characters")
                                  .arg(MaxStateIdentifierLength),
                          MessageType::StateConnectionError);
        }
        message.stateIdentifier = identifier.toString();
        return message;
    }
    case MessageType::UpdateState:
    case MessageType::AppendToState: {
        const bool isAppend = message.type == MessageType::AppendToState;
        const QLatin1String field = isAppend ? QLatin1String("appends") : QLatin1String("updates");
        if (!readRequestId(data, message)) {
            return refuse(message, Error::InvalidMessage,
                          QStringLiteral("requestId must be a number or a string of at most "
                                         "%1 characters")
                                  .arg(MaxRequestIdLength),
                          MessageType::StateUpdateFailed);
        }
        const QJsonValue payload = data.value(field);
        if (!dataIsObject || payload.isUndefined() || payload.isNull()) {
            return refuse(message, Error::MissingUpdates,
                          QStringLiteral("No %1 were provided").arg(field),
                          MessageType::StateUpdateFailed);
        }
        if (!payload.isObject()) {
            return refuse(message, Error::InvalidMessage,
                          QStringLiteral("%1 must be an object").arg(field),
                          MessageType::StateUpdateFailed);
        }
        if (!isAppend) {
            message.updates = payload.toObject();
            return message;
        }
        const QJsonObject appends = payload.toObject();
        if (appends.isEmpty()) {
            return refuse(message, Error::MissingUpdates, QStringLiteral("appends is empty"),
                          MessageType::StateUpdateFailed);
        }
        for (auto it = appends.constBegin(), end = appends.constEnd(); it != end; ++it) {
            if (!it.value().isArray()) {
                return refuse(message, Error::InvalidMessage,
                              QStringLiteral("appends.%1 must be an array of items").arg(it.key()),
                              MessageType::StateUpdateFailed);
            }
        }
        message.appends = appends;
        return message;
    }
    case MessageType::LeaveState:
        return message;
    case MessageType::SetPresence: {
        const QJsonValue presence = data.value(QLatin1String("presence"));
        if (!presence.isObject() && !presence.isNull() && !presence.isUndefined()) {
            return refuse(message, Error::InvalidMessage,
                          QStringLiteral("presence must be an object"), MessageType::ProtocolError);
        }
        message.presence = presence.toObject();
        return message;
    }
    default:
        return refuse(message, Error::UnsupportedMessageType,
                      QStringLiteral("Message type %1 is not supported").arg(message.type),
                      MessageType::UnsupportedMessageType);
    }
}

// The reply type and request id of a message that is refused before its data is read,
// taken from whatever of it can be read, so the client can tell which request failed.
ClientMessage bestEffortEnvelope(const QJsonObject &object)
{
    ClientMessage message;
    const QJsonValue type = object.value(QLatin1String("type"));
    if (!isIntegral(type))
        return message;
    message.type = type.toInt();
    switch (message.type) {
    case MessageType::ConnectToState:
        message.replyType = MessageType::StateConnectionError;
        break;
    case MessageType::UpdateState:
    case MessageType::AppendToState:
        message.replyType = MessageType::StateUpdateFailed;
        readRequestId(object.value(QLatin1String("data")).toObject(), message);
        break;
    default:
        break;
    }
    return message;
}

} // namespace

ClientMessage decodeClientMessage(QByteArrayView utf8, int maxDepth)
{
    const bool tooDeep = QStateSyncMerge::textDepth(utf8, maxDepth) > maxDepth;
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(utf8.toByteArray(), &parseError);
    if (tooDeep) {
        ClientMessage message = bestEffortEnvelope(document.object());
        return refuse(message, Error::NestingTooDeep,
                      QStringLiteral("The message nests deeper than %1 levels").arg(maxDepth),
                      message.replyType);
    }
    if (parseError.error != QJsonParseError::NoError) {
        return refuse(ClientMessage(), Error::InvalidJson,
                      QStringLiteral("The message is not valid JSON: %1 at offset %2")
                              .arg(parseError.errorString())
                              .arg(parseError.offset),
                      MessageType::ProtocolError);
    }
    if (!document.isObject()) {
        return refuse(ClientMessage(), Error::InvalidMessage,
                      QStringLiteral("A message must be a JSON object with a type and data"),
                      MessageType::ProtocolError);
    }
    const QJsonObject object = document.object();
    const QJsonValue type = object.value(QLatin1String("type"));
    if (!isIntegral(type)) {
        return refuse(ClientMessage(), Error::InvalidMessage,
                      QStringLiteral("type must be an integer"), MessageType::ProtocolError);
    }
    ClientMessage message;
    message.type = type.toInt();
    const QJsonValue data = object.value(QLatin1String("data"));
    if (!data.isObject() && !data.isNull() && !data.isUndefined()) {
        message = bestEffortEnvelope(object);
        return refuse(message, Error::InvalidMessage, QStringLiteral("data must be an object"),
                      message.replyType);
    }
    return decodeData(message, data);
}

ClientMessage decodeClientMessage(QStringView text, int maxDepth)
{
    const QByteArray utf8 = text.toUtf8();
    return decodeClientMessage(QByteArrayView(utf8), maxDepth);
}

ServerMessage decodeServerMessage(QStringView text)
{
    ServerMessage message;
    const QJsonDocument document = QJsonDocument::fromJson(text.toUtf8());
    if (!document.isObject())
        return message;
    const QJsonObject object = document.object();
    const QJsonValue type = object.value(QLatin1String("type"));
    const QJsonValue data = object.value(QLatin1String("data"));
    if (!isIntegral(type) || !(data.isObject() || data.isNull() || data.isUndefined()))
        return message;
    message.type = type.toInt();
    message.data = data.toObject();
    message.valid = true;
    return message;
}

QByteArray toJson(const QJsonValue &value)
{
    if (value.isObject())
        return QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact);
    if (value.isArray())
        return QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact);
    const QByteArray wrapped = QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact);
    return wrapped.mid(1, wrapped.size() - 2);
}

namespace {
QByteArray encode(int type, const QJsonObject &data)
{
    QByteArray message = QByteArrayLiteral("{\"type\":");
    message += QByteArray::number(type);
    message += ",\"data\":";
    message += toJson(data);
    message += '}';
    return message;
}

QJsonObject withRequestId(QJsonObject data, const QJsonValue &requestId)
{
    if (!requestId.isUndefined() && !requestId.isNull())
        data.insert(QLatin1String("requestId"), requestId);
    return data;
}
} // namespace

QByteArray encodeConnectToState(const QString &stateIdentifier)
{
    return encode(MessageType::ConnectToState,
                  QJsonObject{{QLatin1String("stateIdentifier"), stateIdentifier}});
}

QByteArray encodeUpdateState(const QJsonObject &updates, const QJsonValue &requestId)
{
    return encode(MessageType::UpdateState,
                  withRequestId(QJsonObject{{QLatin1String("updates"), updates}}, requestId));
}

QByteArray encodeAppendToState(const QJsonObject &appends, const QJsonValue &requestId)
{
    return encode(MessageType::AppendToState,
                  withRequestId(QJsonObject{{QLatin1String("appends"), appends}}, requestId));
}

QByteArray encodeLeaveState()
{
    return encode(MessageType::LeaveState, QJsonObject());
}

QByteArray encodeSetPresence(const QJsonObject &presence)
{
    return encode(MessageType::SetPresence, QJsonObject{{QLatin1String("presence"), presence}});
}

QByteArray encodeConnectionEstablished(const QString &stateIdentifier, const QJsonObject &value,
                                       qint64 version, QStateSync::MergeMode mode,
                                       const QJsonArray &presence, qint64 presenceId,
                                       const QJsonArray &requestIds)
{
    QJsonObject data{
            {QLatin1String("state"), value},
            {QLatin1String("stateIdentifier"), stateIdentifier},
            {QLatin1String("version"), version},
            {QLatin1String("mergeMode"),
             mode == QStateSync::MergeMode::Shallow ? QLatin1String("shallow")
                                                    : QLatin1String("deep")},
    };
    if (presenceId >= 0) {
        data.insert(QLatin1String("presence"), presence);
        data.insert(QLatin1String("presenceId"), presenceId);
    }
    if (!requestIds.isEmpty())
        data.insert(QLatin1String("requestIds"), requestIds);
    return encode(MessageType::StateConnectionEstablished, data);
}

QByteArray encodeConflatedUpdate(const QJsonObject &updates, qint64 version,
                                 const QJsonArray &requestIds)
{
    QJsonObject data{{QLatin1String("updates"), updates},
                     {QLatin1String("version"), version},
                     {QLatin1String("conflated"), true}};
    if (!requestIds.isEmpty())
        data.insert(QLatin1String("requestIds"), requestIds);
    return encode(MessageType::StateUpdated, data);
}

QByteArray encodePresenceChanged(const char *event, const QJsonObject &entry)
{
    return encode(MessageType::PresenceChanged,
                  QJsonObject{{QLatin1String("event"), QLatin1String(event)},
                              {QLatin1String("presence"), entry}});
}

QByteArray encodeError(int type, QStateSync::Error error, const QString &message,
                       const QJsonValue &requestId, const QString &stateIdentifier)
{
    QJsonObject data{{QLatin1String("message"), message},
                     {QLatin1String("code"), QStateSync::errorCode(error)}};
    if (!stateIdentifier.isEmpty())
        data.insert(QLatin1String("stateIdentifier"), stateIdentifier);
    return encode(type, withRequestId(data, requestId));
}

QByteArray encodeStateRemoved(const QString &stateIdentifier, QStateSync::RemovalReason reason)
{
    return encode(MessageType::StateRemoved,
                  QJsonObject{{QLatin1String("stateIdentifier"), stateIdentifier},
                              {QLatin1String("reason"), QStateSync::removalReasonName(reason)}});
}

QByteArray encodeStateLeft(const QString &stateIdentifier)
{
    return encode(MessageType::StateLeft,
                  QJsonObject{{QLatin1String("stateIdentifier"), stateIdentifier}});
}

namespace {
std::atomic<quint64> broadcastsEncoded{0};
}

quint64 Broadcast::encodedCount()
{
    return broadcastsEncoded.load(std::memory_order_relaxed);
}

Broadcast::Broadcast(int type, const QJsonObject &payload, qint64 version)
{
    broadcastsEncoded.fetch_add(1, std::memory_order_relaxed);
    const QByteArray json = toJson(payload);
    const QByteArrayView key = type == MessageType::StateAppended
            ? QByteArrayView(",\"data\":{\"appends\":")
            : QByteArrayView(",\"data\":{\"updates\":");
    // Written once into a buffer of the right size: the broadcast of every change of a
    // busy state passes here.
    m_head.reserve(json.size() + 64);
    m_head.append("{\"type\":").append(QByteArray::number(type)).append(key).append(json);
    m_head.append(",\"version\":").append(QByteArray::number(version));
}

namespace {
// The first byte, and the payload's length in 7, 16 or 64 bits, of an unmasked frame.
void appendFrameHeader(QByteArray &bytes, char firstByte, quint64 size)
{
    bytes.append(firstByte);
    if (size < 126) {
        bytes.append(char(size));
    } else if (size <= 0xffff) {
        bytes.append(char(126));
        bytes.append(char(size >> 8));
        bytes.append(char(size & 0xff));
    } else {
        bytes.append(char(127));
        for (int shift = 56; shift >= 0; shift -= 8)
            bytes.append(char((size >> shift) & 0xff));
    }
}

// ,"requestId":<id>}} or }}: what follows the head of a broadcast.
QByteArray broadcastTail(const QJsonValue &requestId)
{
    if (requestId.isUndefined() || requestId.isNull())
        return QByteArrayLiteral("}}");
    return ",\"requestId\":" + toJson(requestId) + "}}";
}
} // namespace

QByteArray Broadcast::message(const QJsonValue &requestId) const
{
    return m_head + broadcastTail(requestId);
}

QByteArray Broadcast::frame(const QJsonValue &requestId) const
{
    const QByteArray tail = broadcastTail(requestId);
    const qsizetype size = m_head.size() + tail.size();
    // A message that is fragmented goes through the general framing.
    if (size > MaxFramePayload)
        return textFrame(message(requestId));
    QByteArray bytes;
    bytes.reserve(size + 10);
    appendFrameHeader(bytes, char(0x81), quint64(size)); // FIN + text
    bytes.append(m_head).append(tail);
    return bytes;
}

namespace {
void appendFrame(QByteArray &bytes, char firstByte, QByteArrayView payload)
{
    appendFrameHeader(bytes, firstByte, quint64(payload.size()));
    bytes.append(payload.data(), payload.size());
}
} // namespace

QByteArray textFrame(QByteArrayView payload)
{
    QByteArray bytes;
    if (payload.size() <= MaxFramePayload) {
        bytes.reserve(payload.size() + 10);
        appendFrame(bytes, char(0x81), payload); // FIN + text
        return bytes;
    }
    // Fragments: a text frame without FIN, continuation frames, the last with FIN. The
    // receiver sees each fragment arrive, so a slow link that is still delivering a large
    // message is not taken for a dead one.
    const qsizetype count = (payload.size() + MaxFramePayload - 1) / MaxFramePayload;
    bytes.reserve(payload.size() + count * 10);
    for (qsizetype i = 0; i < count; ++i) {
        const QByteArrayView part = payload.sliced(
                i * MaxFramePayload,
                std::min<qsizetype>(MaxFramePayload, payload.size() - i * MaxFramePayload));
        const char opcode = i == 0 ? char(0x01) : char(0x00);
        const char fin = i == count - 1 ? char(0x80) : char(0);
        appendFrame(bytes, char(fin | opcode), part);
    }
    return bytes;
}

} // namespace QStateSyncProtocol
