// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

// Fuzzes decodeClientMessage(), which reads every frame a client sends to the server.
// The input is the frame's text. Each input is decoded as bytes and as text, with the
// server's default nesting limit and with a small one, and every result is checked
// against what doc/protocol.md (sections 2 to 4) says the server must make of it.

#include "fuzzsupport.h"

#include "qstatesyncmerge_p.h"
#include "qstatesyncprotocol_p.h"

#include <QtCore/qjsondocument.h>

#include <cmath>
#include <limits>

using namespace QStateSyncProtocol;
using FuzzSupport::show;
using QStateSync::Error;

namespace {

constexpr int DefaultMaxDepth = 64; // QStateSyncer's default

QByteArray describe(const ClientMessage &message)
{
    return "type " + QByteArray::number(message.type) + ", error "
            + QStateSync::errorCode(message.error).toUtf8() + ", reply type "
            + QByteArray::number(message.replyType) + ", message \"" + message.errorMessage.toUtf8()
            + "\", stateIdentifier " + show(message.stateIdentifier) + ", updates "
            + show(message.updates) + ", appends " + show(message.appends) + ", presence "
            + show(message.presence) + ", requestId " + show(message.requestId);
}

bool sameMessage(const ClientMessage &a, const ClientMessage &b)
{
    return a.type == b.type && a.stateIdentifier == b.stateIdentifier && a.updates == b.updates
            && a.appends == b.appends && a.presence == b.presence && a.requestId == b.requestId
            && a.error == b.error && a.errorMessage == b.errorMessage && a.replyType == b.replyType;
}

// The integer a JSON value stands for as a message type (section 2), if any.
std::optional<int> messageType(const QJsonValue &value)
{
    if (!value.isDouble())
        return std::nullopt;
    const double number = value.toDouble();
    if (!(number >= std::numeric_limits<int>::min() && number <= std::numeric_limits<int>::max())
        || std::trunc(number) != number) {
        return std::nullopt;
    }
    return int(number);
}

bool isUsableRequestId(const QJsonValue &value)
{
    return value.isDouble() || (value.isString() && value.toString().size() <= MaxRequestIdLength);
}

bool isAbsent(const QJsonValue &value)
{
    return value.isUndefined() || value.isNull();
}

// What doc/protocol.md says the server makes of a message: the error of the first check
// that fails (section 2.1, then section 4), NoError when it is accepted.
Error expectedError(bool tooDeep, const std::optional<QJsonDocument> &document)
{
    if (tooDeep)
        return Error::NestingTooDeep;
    if (!document)
        return Error::InvalidJson;
    if (!document->isObject())
        return Error::InvalidMessage;
    const QJsonObject envelope = document->object();
    const std::optional<int> type = messageType(envelope.value(QLatin1String("type")));
    if (!type)
        return Error::InvalidMessage;
    const QJsonValue dataValue = envelope.value(QLatin1String("data"));
    if (!dataValue.isObject() && !isAbsent(dataValue))
        return Error::InvalidMessage;
    const QJsonObject data = dataValue.toObject();
    switch (*type) {
    case MessageType::ConnectToState: {
        const QJsonValue identifier = data.value(QLatin1String("stateIdentifier"));
        if (isAbsent(identifier) || identifier == QJsonValue(QString()))
            return Error::MissingStateIdentifier;
        if (!identifier.isString() || identifier.toString().size() > MaxStateIdentifierLength)
            return Error::InvalidMessage;
        return Error::NoError;
    }
    case MessageType::UpdateState:
    case MessageType::AppendToState: {
        const QJsonValue requestId = data.value(QLatin1String("requestId"));
        if (!isAbsent(requestId) && !isUsableRequestId(requestId))
            return Error::InvalidMessage;
        const bool isAppend = *type == MessageType::AppendToState;
        const QJsonValue payload
                = data.value(isAppend ? QLatin1String("appends") : QLatin1String("updates"));
        if (isAbsent(payload))
            return Error::MissingUpdates;
        if (!payload.isObject())
            return Error::InvalidMessage;
        if (!isAppend)
            return Error::NoError;
        const QJsonObject appends = payload.toObject();
        if (appends.isEmpty())
            return Error::MissingUpdates;
        for (const QJsonValue &items : appends) {
            if (!items.isArray())
                return Error::InvalidMessage;
        }
        return Error::NoError;
    }
    case MessageType::LeaveState:
        return Error::NoError;
    case MessageType::SetPresence: {
        const QJsonValue presence = data.value(QLatin1String("presence"));
        return presence.isObject() || isAbsent(presence) ? Error::NoError : Error::InvalidMessage;
    }
    default:
        return Error::UnsupportedMessageType;
    }
}

// Section 2.2: which message type carries the error of a refused message.
int expectedReplyType(const ClientMessage &message)
{
    if (message.error == Error::UnsupportedMessageType)
        return MessageType::UnsupportedMessageType;
    switch (message.type) {
    case MessageType::ConnectToState:
        return MessageType::StateConnectionError;
    case MessageType::UpdateState:
    case MessageType::AppendToState:
        return MessageType::StateUpdateFailed;
    default:
        return MessageType::ProtocolError;
    }
}

// An accepted message, encoded again as a client would send it, decodes to itself.
void checkReencoded(const ClientMessage &message, int maxDepth)
{
    QByteArray encoded;
    switch (message.type) {
    case MessageType::ConnectToState:
        encoded = encodeConnectToState(message.stateIdentifier);
        break;
    case MessageType::UpdateState:
        encoded = encodeUpdateState(message.updates, message.requestId);
        break;
    case MessageType::AppendToState:
        encoded = encodeAppendToState(message.appends, message.requestId);
        break;
    case MessageType::LeaveState:
        encoded = encodeLeaveState();
        break;
    case MessageType::SetPresence:
        encoded = encodeSetPresence(message.presence);
        break;
    }
    FUZZ_CHECK(FuzzSupport::isValidUtf8(encoded), encoded);
    if (FuzzSupport::qtJsonMisreads(encoded))
        return;
    // Encoding may add levels the original left out ({"type":26} gains "data":{"presence":{}}).
    const int depth = std::max(
            maxDepth, QStateSyncMerge::textDepth(encoded, std::numeric_limits<int>::max()));
    const ClientMessage again = decodeClientMessage(QByteArrayView(encoded), depth);
    FUZZ_CHECK(sameMessage(message, again),
               "first: " + describe(message) + "\nagain: " + describe(again)
                       + "\nencoded: " + encoded);
}

// A refused message's answer, as the server encodes it, reads back as the client sees it.
void checkErrorAnswer(const ClientMessage &message)
{
    const QByteArray answer = encodeError(message.replyType, message.error, message.errorMessage,
                                          message.requestId);
    const std::optional<QString> text = FuzzSupport::strictUtf8(answer);
    FUZZ_CHECK(text, "the error answer is not UTF-8: " + answer);
    if (FuzzSupport::qtJsonMisreads(answer))
        return;
    const ServerMessage received = decodeServerMessage(*text);
    FUZZ_CHECK(received.valid && received.type == message.replyType, answer);
    FUZZ_CHECK(received.data.value(QLatin1String("code")).toString()
                       == QStateSync::errorCode(message.error),
               answer);
    FUZZ_CHECK(received.data.value(QLatin1String("message")).toString() == message.errorMessage,
               answer);
    const QJsonValue requestId = received.data.value(QLatin1String("requestId"));
    FUZZ_CHECK(isAbsent(message.requestId) ? requestId.isUndefined()
                                           : requestId == message.requestId,
               answer);
}

// Everything that must hold of message, decoded from utf8 with maxDepth.
void checkDecoded(const ClientMessage &message, QByteArrayView utf8, int maxDepth)
{
    if (FuzzSupport::qtJsonMisreads(utf8))
        return;
    const QByteArray detail = describe(message) + "\nmax depth " + QByteArray::number(maxDepth);
    const bool tooDeep = QStateSyncMerge::textDepth(utf8, maxDepth) > maxDepth;
    const std::optional<QJsonDocument> document = FuzzSupport::parse(utf8);
    const Error expected = expectedError(tooDeep, document);
    FUZZ_CHECK(message.error == expected,
               "expected " + QStateSync::errorCode(expected).toUtf8() + "\n" + detail);
    FUZZ_CHECK(message.isValid() == message.errorMessage.isEmpty(), detail);

    // The type (and for 3 and 20 the request id) is read from whatever parses.
    const QJsonObject envelope = document ? document->object() : QJsonObject();
    const int type = messageType(envelope.value(QLatin1String("type"))).value_or(0);
    FUZZ_CHECK(message.type == type, detail);
    const QJsonValue requestId
            = envelope.value(QLatin1String("data")).toObject().value(QLatin1String("requestId"));
    const bool echoesRequestId
            = (type == MessageType::UpdateState || type == MessageType::AppendToState)
            && isUsableRequestId(requestId);
    FUZZ_CHECK(echoesRequestId ? message.requestId == requestId : message.requestId.isUndefined(),
               detail);

    if (!message.isValid()) {
        FUZZ_CHECK(message.replyType == expectedReplyType(message), detail);
        checkErrorAnswer(message);
        return;
    }
    // Bytes that are not UTF-8 may be accepted: Qt's parser reads a backslash followed by
    // any byte as that byte's Latin-1 character ("\a" is "a"). The server never sees such
    // bytes (QtWebSockets refuses text frames that are not UTF-8), and what was decoded is
    // valid Unicode whatever the bytes were: checkReencoded() checks that it encodes to
    // UTF-8.
    const QJsonObject data = envelope.value(QLatin1String("data")).toObject();
    switch (message.type) {
    case MessageType::ConnectToState:
        FUZZ_CHECK(message.stateIdentifier
                           == data.value(QLatin1String("stateIdentifier")).toString(),
                   detail);
        break;
    case MessageType::UpdateState:
        FUZZ_CHECK(message.updates == data.value(QLatin1String("updates")).toObject(), detail);
        FUZZ_CHECK(QStateSyncMerge::depth(message.updates) + 2 <= maxDepth, detail);
        break;
    case MessageType::AppendToState:
        FUZZ_CHECK(message.appends == data.value(QLatin1String("appends")).toObject(), detail);
        FUZZ_CHECK(QStateSyncMerge::depth(message.appends) + 2 <= maxDepth, detail);
        break;
    case MessageType::SetPresence:
        FUZZ_CHECK(message.presence == data.value(QLatin1String("presence")).toObject(), detail);
        break;
    }
    if (message.type != MessageType::ConnectToState)
        FUZZ_CHECK(message.stateIdentifier.isEmpty(), detail);
    if (message.type != MessageType::UpdateState)
        FUZZ_CHECK(message.updates.isEmpty(), detail);
    if (message.type != MessageType::AppendToState)
        FUZZ_CHECK(message.appends.isEmpty(), detail);
    if (message.type != MessageType::SetPresence)
        FUZZ_CHECK(message.presence.isEmpty(), detail);
    checkReencoded(message, maxDepth);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView bytes = FuzzSupport::view(data, size);
    // The default limit, and one small enough that many inputs pass it by a level or two.
    const int smallDepth = 1 + int(size % 6);
    for (const int maxDepth : {DefaultMaxDepth, smallDepth}) {
        const ClientMessage message = decodeClientMessage(bytes, maxDepth);
        checkDecoded(message, bytes, maxDepth);

        // The text path (what the server has after QtWebSockets checked the UTF-8) agrees
        // with the byte path.
        if (const std::optional<QString> text = FuzzSupport::strictUtf8(bytes)) {
            const ClientMessage fromText = decodeClientMessage(QStringView(*text), maxDepth);
            FUZZ_CHECK(sameMessage(message, fromText),
                       "bytes: " + describe(message) + "\ntext: " + describe(fromText));
        }

        // Text no UTF-8 decoder makes: lone surrogates, any code unit.
        const QString utf16 = FuzzSupport::rawUtf16(bytes);
        const ClientMessage fromUtf16 = decodeClientMessage(QStringView(utf16), maxDepth);
        checkDecoded(fromUtf16, utf16.toUtf8(), maxDepth);
    }
    return 0;
}
