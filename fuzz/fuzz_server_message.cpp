// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// Fuzzes decodeServerMessage(), which reads every frame a server sends to a client, and
// the server's encoders: whatever fields a server message carries, the server encodes
// them into valid UTF-8 that the client decodes back to the same fields.
//
// The input is the frame's text, read as UTF-8 (as QtWebSockets hands it over) and as
// raw UTF-16.

#include "fuzzsupport.h"

#include "qstatesyncprotocol_p.h"

#include <cmath>
#include <limits>

using namespace QStateSyncProtocol;
using FuzzSupport::show;

namespace {

QByteArray describe(const ServerMessage &message)
{
    return "valid " + QByteArray::number(message.valid) + ", type "
            + QByteArray::number(message.type) + ", data " + show(message.data);
}

// The message doc/protocol.md (section 2) says a frame carries, if any.
std::optional<ServerMessage> expectedMessage(const QString &text)
{
    const std::optional<QJsonDocument> document = FuzzSupport::parse(text.toUtf8());
    if (!document || !document->isObject())
        return std::nullopt;
    const QJsonValue type = document->object().value(QLatin1String("type"));
    const QJsonValue data = document->object().value(QLatin1String("data"));
    if (!type.isDouble() || !(data.isObject() || data.isNull() || data.isUndefined()))
        return std::nullopt;
    const double number = type.toDouble();
    if (!(number >= std::numeric_limits<int>::min() && number <= std::numeric_limits<int>::max())
        || std::trunc(number) != number) {
        return std::nullopt;
    }
    return ServerMessage{int(number), data.toObject(), true};
}

// What the client decodes from what the server encoded.
ServerMessage received(const QByteArray &encoded)
{
    const std::optional<QString> text = FuzzSupport::strictUtf8(encoded);
    FUZZ_CHECK(text, "the server would send text that is not UTF-8: " + encoded.toHex());
    const ServerMessage message = decodeServerMessage(*text);
    FUZZ_CHECK(message.valid, "the client cannot read " + encoded);
    return message;
}

void checkField(const ServerMessage &message, const char *field, const QJsonValue &expected,
                const QByteArray &encoded)
{
    const QJsonValue value = message.data.value(QLatin1String(field));
    FUZZ_CHECK(value == expected,
               QByteArray(field) + " is " + show(value) + ", not " + show(expected) + " in "
                       + encoded);
}

// The server's encoders, given the fields of a decoded message.
void checkEncoders(const ServerMessage &message)
{
    if (FuzzSupport::qtJsonMisreads(toJson(message.data)))
        return;
    const QJsonObject &data = message.data;
    const QString stateIdentifier = data.value(QLatin1String("stateIdentifier")).toString();
    const QJsonObject state = data.value(QLatin1String("state")).toObject();
    const qint64 version = data.value(QLatin1String("version")).toInteger();
    const QJsonArray presence = data.value(QLatin1String("presence")).toArray();
    const qint64 presenceId = data.value(QLatin1String("presenceId")).toInteger(-1);
    const QJsonValue requestId = data.value(QLatin1String("requestId"));
    const QString text = data.value(QLatin1String("message")).toString();
    const QJsonObject updates = data.value(QLatin1String("updates")).toObject();
    const QJsonObject entry = data.value(QLatin1String("presence")).toObject();

    for (const auto mode : {QStateSync::MergeMode::Deep, QStateSync::MergeMode::Shallow}) {
        const QByteArray encoded = encodeConnectionEstablished(stateIdentifier, state, version,
                                                               mode, presence, presenceId);
        const ServerMessage established = received(encoded);
        FUZZ_CHECK(established.type == MessageType::StateConnectionEstablished, encoded);
        checkField(established, "stateIdentifier", stateIdentifier, encoded);
        checkField(established, "state", state, encoded);
        FUZZ_CHECK(established.data.value(QLatin1String("version")).toInteger() == version,
                   encoded);
        checkField(established, "mergeMode",
                   mode == QStateSync::MergeMode::Deep ? QStringLiteral("deep")
                                                       : QStringLiteral("shallow"),
                   encoded);
        if (presenceId >= 0) {
            checkField(established, "presence", presence, encoded);
            FUZZ_CHECK(established.data.value(QLatin1String("presenceId")).toInteger()
                               == presenceId,
                       encoded);
        } else {
            FUZZ_CHECK(!established.data.contains(QLatin1String("presence")), encoded);
        }
    }

    const QStateSync::Error error
            = QStateSync::errorFromCode(data.value(QLatin1String("code")).toString());
    const QByteArray errorAnswer
            = encodeError(message.type, error, text, requestId, stateIdentifier);
    const ServerMessage answer = received(errorAnswer);
    FUZZ_CHECK(answer.type == message.type, errorAnswer);
    checkField(answer, "message", text, errorAnswer);
    checkField(answer, "code", QStateSync::errorCode(error), errorAnswer);
    checkField(answer, "requestId",
               requestId.isNull() ? QJsonValue(QJsonValue::Undefined) : requestId, errorAnswer);
    checkField(answer, "stateIdentifier",
               stateIdentifier.isEmpty() ? QJsonValue(QJsonValue::Undefined)
                                         : QJsonValue(stateIdentifier),
               errorAnswer);

    for (const int type : {int(MessageType::StateUpdated), int(MessageType::StateAppended)}) {
        const Broadcast broadcast(type, updates, version);
        const QByteArray encoded = broadcast.message(requestId);
        const ServerMessage change = received(encoded);
        FUZZ_CHECK(change.type == type, encoded);
        checkField(change, type == MessageType::StateUpdated ? "updates" : "appends", updates,
                   encoded);
        FUZZ_CHECK(change.data.value(QLatin1String("version")).toInteger() == version, encoded);
        checkField(change, "requestId",
                   requestId.isNull() ? QJsonValue(QJsonValue::Undefined) : requestId, encoded);
        // The frame the server writes: FIN and text opcode, the payload's length, the
        // payload. Broadcasts write it in one buffer (frame()); it is the same.
        const QByteArray frame = textFrame(encoded);
        FUZZ_CHECK(broadcast.frame(requestId) == frame, encoded);
        if (encoded.size() > MaxFramePayload)
            continue; // fragmented: tst_protocol checks those
        FUZZ_CHECK(frame.size() > encoded.size() && uchar(frame.at(0)) == 0x81
                           && frame.endsWith(encoded),
                   encoded);
        const uchar lengthByte = uchar(frame.at(1));
        const qsizetype header = lengthByte < 126 ? 2 : lengthByte == 126 ? 4 : 10;
        FUZZ_CHECK(frame.size() >= header, frame.toHex());
        quint64 length = lengthByte < 126 ? lengthByte : 0;
        for (qsizetype i = 2; i < header; ++i)
            length = (length << 8) | uchar(frame.at(i));
        FUZZ_CHECK(length == quint64(encoded.size()) && frame.size() == header + encoded.size(),
                   frame.first(header).toHex());
    }

    const QByteArray left = encodeStateLeft(stateIdentifier);
    checkField(received(left), "stateIdentifier", stateIdentifier, left);

    const QByteArray removed = encodeStateRemoved(stateIdentifier, QStateSync::RemovalReason::Ttl);
    const ServerMessage removal = received(removed);
    checkField(removal, "stateIdentifier", stateIdentifier, removed);
    checkField(removal, "reason", QStateSync::removalReasonName(QStateSync::RemovalReason::Ttl),
               removed);

    const QByteArray changed = encodePresenceChanged(PresenceEvent::Changed, entry);
    const ServerMessage presenceChange = received(changed);
    FUZZ_CHECK(presenceChange.type == MessageType::PresenceChanged, changed);
    checkField(presenceChange, "presence", entry, changed);
    checkField(presenceChange, "event", QStringLiteral("changed"), changed);
}

void checkDecoded(const QString &text)
{
    const ServerMessage message = decodeServerMessage(text);
    if (FuzzSupport::qtJsonMisreads(text.toUtf8()))
        return;
    const std::optional<ServerMessage> expected = expectedMessage(text);
    FUZZ_CHECK(message.valid == expected.has_value(), describe(message));
    if (!message.valid) {
        FUZZ_CHECK(message.type == 0 && message.data.isEmpty(), describe(message));
        return;
    }
    FUZZ_CHECK(message.type == expected->type && message.data == expected->data,
               describe(message) + "\nexpected " + describe(*expected));

    // The envelope encoded again reads back the same.
    const QByteArray encoded = QJsonDocument(QJsonObject{{QLatin1String("type"), message.type},
                                                         {QLatin1String("data"), message.data}})
                                       .toJson(QJsonDocument::Compact);
    const ServerMessage again = received(encoded);
    FUZZ_CHECK(again.type == message.type && again.data == message.data,
               describe(message) + "\nagain " + describe(again));

    checkEncoders(message);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView bytes = FuzzSupport::view(data, size);
    checkDecoded(QString::fromUtf8(bytes));
    checkDecoded(FuzzSupport::rawUtf16(bytes));
    return 0;
}
