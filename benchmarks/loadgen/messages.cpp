// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "messages.h"

#include "websocket.h"

#include <cstdint>
#include <cstring>

namespace loadgen {

namespace {

const char UpdatePrefix[] = "{\"type\":3,\"data\":{\"updates\":{\"v\":\"";
const char UpdateSuffix[] = "\"}}}";

char *writeDecimal(char *out, uint64_t value)
{
    char digits[20];
    int count = 0;
    do {
        digits[count++] = char('0' + value % 10);
        value /= 10;
    } while (value);
    while (count)
        *out++ = digits[--count];
    return out;
}

// Writes the update's JSON text to `out` (sized by the caller); returns its end.
char *writeUpdateText(char *out, uint32_t writer, uint64_t sequence, uint64_t sentNs,
                      size_t payloadSize)
{
    std::memcpy(out, UpdatePrefix, sizeof UpdatePrefix - 1);
    out += sizeof UpdatePrefix - 1;
    char *value = out;
    out = writeDecimal(out, writer);
    *out++ = ':';
    out = writeDecimal(out, sequence);
    *out++ = ':';
    out = writeDecimal(out, sentNs);
    *out++ = ':';
    const size_t used = size_t(out - value);
    if (used < payloadSize) {
        std::memset(out, 'x', payloadSize - used);
        out += payloadSize - used;
    }
    std::memcpy(out, UpdateSuffix, sizeof UpdateSuffix - 1);
    return out + sizeof UpdateSuffix - 1;
}

size_t updateTextSize(size_t payloadSize)
{
    if (payloadSize < MinimumPayloadSize)
        payloadSize = MinimumPayloadSize;
    return sizeof UpdatePrefix - 1 + payloadSize + sizeof UpdateSuffix - 1;
}

inline const char *skipSpace(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        ++p;
    return p;
}

// Reads digits; false when there are none.
inline bool readDecimal(const char *&p, const char *end, uint64_t &value)
{
    const char *start = p;
    uint64_t result = 0;
    while (p < end && *p >= '0' && *p <= '9')
        result = result * 10 + uint64_t(*p++ - '0');
    value = result;
    return p != start;
}

// After `"key"` and optional blanks, a colon and optional blanks: where the value starts.
inline const char *valueAfterKey(const char *text, size_t size, const char *key, size_t keySize)
{
    const char *end = text + size;
    const char *p = static_cast<const char *>(memmem(text, size, key, keySize));
    if (!p)
        return nullptr;
    p = skipSpace(p + keySize, end);
    if (p == end || *p != ':')
        return nullptr;
    return skipSpace(p + 1, end);
}

// The message's "type". Node's JSON.stringify keeps the order of the object, and the
// load generator writes it the same way: {"type":N,... comes first. Qt's QJsonDocument
// sorts the keys: "data" comes first, "type" last.
bool readType(const char *text, size_t size, int &type)
{
    static const char TypeFirst[] = "{\"type\":";
    const char *typeAt;
    if (size > sizeof TypeFirst && std::memcmp(text, TypeFirst, sizeof TypeFirst - 1) == 0)
        typeAt = text + sizeof TypeFirst - 1;
    else
        typeAt = valueAfterKey(text, size, "\"type\"", 6);
    uint64_t value = 0;
    if (!typeAt || !readDecimal(typeAt, text + size, value) || value > uint64_t(INT32_MAX))
        return false;
    type = int(value);
    return true;
}

} // namespace

void appendJoinFrame(std::string &out, const std::string &state, uint32_t maskKey)
{
    const std::string text = "{\"type\":2,\"data\":{\"stateIdentifier\":\"" + state + "\"}}";
    appendMaskedFrame(out, OpText, text.data(), text.size(), maskKey);
}

void appendUpdateFrame(std::string &out, uint32_t writer, uint64_t sequence, uint64_t sentNs,
                       size_t payloadSize, uint32_t maskKey)
{
    if (payloadSize < MinimumPayloadSize)
        payloadSize = MinimumPayloadSize;
    const size_t textSize = updateTextSize(payloadSize);
    const size_t headerSize = frameHeaderSize(textSize, true);
    const size_t start = out.size();
    out.resize(start + headerSize + textSize);
    char *frame = &out[start];
    writeFrameHeader(frame, OpText, true, textSize, &maskKey);
    writeUpdateText(frame + headerSize, writer, sequence, sentNs, payloadSize);
    applyMask(frame + headerSize, textSize, maskKey);
}

std::string serverUpdateText(uint32_t writer, uint64_t sequence, uint64_t sentNs,
                             size_t payloadSize)
{
    if (payloadSize < MinimumPayloadSize)
        payloadSize = MinimumPayloadSize;
    std::string text(updateTextSize(payloadSize), '\0');
    writeUpdateText(&text[0], writer, sequence, sentNs, payloadSize);
    return text;
}

bool readServerMessage(const char *text, size_t size, ServerMessage &message)
{
    message = ServerMessage();
    const char *end = text + size;
    if (!readType(text, size, message.type))
        return false;
    if (message.type != StateUpdated)
        return true;

    const char *p = valueAfterKey(text, size, "\"updates\"", 9);
    if (!p || *p != '{')
        return true;
    p = skipSpace(p + 1, end);
    if (p == end || *p != '"')
        return true;
    p = static_cast<const char *>(std::memchr(p + 1, '"', size_t(end - p - 1)));
    if (!p)
        return true;
    p = skipSpace(p + 1, end);
    if (p == end || *p != ':')
        return true;
    p = skipSpace(p + 1, end);
    if (p == end || *p != '"')
        return true;
    ++p;
    uint64_t writer, sequence, sentNs;
    if (!readDecimal(p, end, writer) || p == end || *p++ != ':')
        return true;
    if (!readDecimal(p, end, sequence) || p == end || *p++ != ':')
        return true;
    if (!readDecimal(p, end, sentNs) || p == end || *p != ':')
        return true;
    message.stamped = true;
    message.writer = uint32_t(writer);
    message.sequence = sequence;
    message.sentNs = sentNs;
    return true;
}

bool readClientMessage(const char *text, size_t size, ClientMessage &message)
{
    message = ClientMessage();
    if (!readType(text, size, message.type))
        return false;
    const char *end = text + size;
    if (message.type == ConnectToState) {
        const char *p = valueAfterKey(text, size, "\"stateIdentifier\"", 17);
        if (p && p < end && *p == '"') {
            const char *close = ++p;
            while (close < end && *close != '"')
                close += *close == '\\' ? 2 : 1;
            if (close < end && close > p) {
                message.state = p;
                message.stateSize = size_t(close - p);
            }
        }
    } else if (message.type == UpdateState) {
        const char *p = valueAfterKey(text, size, "\"updates\"", 9);
        message.hasUpdates = p && p < end && *p == '{';
    }
    return true;
}

std::string errorMessageOf(const char *text, size_t size, size_t limit)
{
    const char *p = valueAfterKey(text, size, "\"message\"", 9);
    if (!p)
        return std::string(text, size < limit ? size : limit);
    const char *end = text + size;
    if (p < end && *p == '"') {
        // The string's text, its escapes left as they are.
        const char *close = ++p;
        while (close < end && *close != '"')
            close += *close == '\\' ? 2 : 1;
        end = close < end ? close : end;
    }
    const size_t length = size_t(end - p);
    return std::string(p, length < limit ? length : limit);
}

} // namespace loadgen
