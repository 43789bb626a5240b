// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "websocket.h"

#include <cstring>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace loadgen {

Random::Random(uint64_t seed)
    : m_state(seed ? seed : 0x9e3779b97f4a7c15ULL)
{ }

uint64_t Random::next()
{
    // xorshift64*: plenty for masks and nonces.
    m_state ^= m_state >> 12;
    m_state ^= m_state << 25;
    m_state ^= m_state >> 27;
    return m_state * 0x2545F4914F6CDD1DULL;
}

uint64_t randomSeed()
{
    uint64_t seed = 0;
    const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (::read(fd, &seed, sizeof seed) != ssize_t(sizeof seed))
            seed = 0;
        ::close(fd);
    }
    if (!seed) {
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        seed = uint64_t(now.tv_nsec) * 6364136223846793005ULL + uint64_t(getpid());
    }
    return seed;
}

std::string base64(const unsigned char *data, size_t size)
{
    static const char alphabet[]
            = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= size; i += 3) {
        const uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (size - i == 1) {
        const uint32_t v = uint32_t(data[i]) << 16;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (size - i == 2) {
        const uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

namespace {

uint32_t rotateLeft(uint32_t value, int bits)
{
    return (value << bits) | (value >> (32 - bits));
}

void sha1Block(uint32_t h[5], const unsigned char *block)
{
    uint32_t w[80];
    for (int t = 0; t < 16; ++t) {
        w[t] = uint32_t(block[4 * t]) << 24 | uint32_t(block[4 * t + 1]) << 16
                | uint32_t(block[4 * t + 2]) << 8 | uint32_t(block[4 * t + 3]);
    }
    for (int t = 16; t < 80; ++t)
        w[t] = rotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; ++t) {
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        const uint32_t temp = rotateLeft(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rotateLeft(b, 30);
        b = a;
        a = temp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

} // namespace

void sha1(const unsigned char *data, size_t size, unsigned char digest[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t i = 0;
    for (; i + 64 <= size; i += 64)
        sha1Block(h, data + i);
    // The rest, a 1 bit, zeros, and the length in bits: one or two more blocks.
    unsigned char tail[128] = {};
    const size_t rest = size - i;
    std::memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    const size_t tailSize = rest + 9 <= 64 ? 64 : 128;
    const uint64_t bits = uint64_t(size) * 8;
    for (int b = 0; b < 8; ++b)
        tail[tailSize - 1 - b] = static_cast<unsigned char>(bits >> (8 * b));
    sha1Block(h, tail);
    if (tailSize == 128)
        sha1Block(h, tail + 64);
    for (int word = 0; word < 5; ++word) {
        for (int b = 0; b < 4; ++b)
            digest[4 * word + b] = static_cast<unsigned char>(h[word] >> (24 - 8 * b));
    }
}

std::string makeWebSocketKey(Random &random)
{
    unsigned char nonce[16];
    for (int i = 0; i < 16; i += 8) {
        const uint64_t value = random.next();
        std::memcpy(nonce + i, &value, 8);
    }
    return base64(nonce, sizeof nonce);
}

std::string acceptValueFor(const std::string &key)
{
    const std::string text = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[20];
    sha1(reinterpret_cast<const unsigned char *>(text.data()), text.size(), digest);
    return base64(digest, sizeof digest);
}

size_t frameHeaderSize(size_t payloadSize, bool masked)
{
    const size_t base = payloadSize < 126 ? 2 : payloadSize <= 0xFFFF ? 4 : 10;
    return base + (masked ? 4 : 0);
}

size_t writeFrameHeader(char *header, uint8_t opcode, bool fin, size_t payloadSize,
                        const uint32_t *maskKey)
{
    auto *out = reinterpret_cast<unsigned char *>(header);
    out[0] = static_cast<unsigned char>((fin ? 0x80 : 0) | opcode);
    const unsigned char maskBit = maskKey ? 0x80 : 0;
    size_t size;
    if (payloadSize < 126) {
        out[1] = static_cast<unsigned char>(maskBit | payloadSize);
        size = 2;
    } else if (payloadSize <= 0xFFFF) {
        out[1] = maskBit | 126;
        out[2] = static_cast<unsigned char>(payloadSize >> 8);
        out[3] = static_cast<unsigned char>(payloadSize);
        size = 4;
    } else {
        out[1] = maskBit | 127;
        for (int i = 0; i < 8; ++i)
            out[2 + i] = static_cast<unsigned char>(uint64_t(payloadSize) >> (56 - 8 * i));
        size = 10;
    }
    if (maskKey) {
        for (int i = 0; i < 4; ++i)
            out[size + i] = static_cast<unsigned char>(*maskKey >> (24 - 8 * i));
        size += 4;
    }
    return size;
}

void applyMask(char *data, size_t size, uint32_t maskKey, size_t offset)
{
    unsigned char key[4];
    for (int i = 0; i < 4; ++i)
        key[i] = static_cast<unsigned char>(maskKey >> (24 - 8 * i));
    size_t i = 0;
    // Byte by byte up to a multiple of 8 in the payload, then 8 bytes at a time.
    while (i < size && ((offset + i) & 7) != 0) {
        data[i] ^= char(key[(offset + i) & 3]);
        ++i;
    }
    if (size - i >= 8) {
        uint64_t wide;
        unsigned char pattern[8];
        for (int b = 0; b < 8; ++b)
            pattern[b] = key[b & 3];
        std::memcpy(&wide, pattern, 8);
        for (; i + 8 <= size; i += 8) {
            uint64_t word;
            std::memcpy(&word, data + i, 8);
            word ^= wide;
            std::memcpy(data + i, &word, 8);
        }
    }
    for (; i < size; ++i)
        data[i] ^= char(key[(offset + i) & 3]);
}

void appendMaskedFrame(std::string &out, uint8_t opcode, const char *payload, size_t size,
                       uint32_t maskKey)
{
    char header[14];
    const size_t headerSize = writeFrameHeader(header, opcode, true, size, &maskKey);
    const size_t start = out.size();
    out.resize(start + headerSize + size);
    std::memcpy(&out[start], header, headerSize);
    if (size) {
        std::memcpy(&out[start + headerSize], payload, size);
        applyMask(&out[start + headerSize], size, maskKey);
    }
}

void appendServerFrame(std::string &out, uint8_t opcode, bool fin, const char *payload, size_t size)
{
    char header[14];
    const size_t headerSize = writeFrameHeader(header, opcode, fin, size, nullptr);
    out.append(header, headerSize);
    out.append(payload, size);
}

ParseResult parseFrame(char *data, size_t available, size_t maxPayload, Frame &frame,
                       size_t &consumed, std::string *error)
{
    consumed = 0;
    if (available < 2) {
        consumed = 2;
        return ParseResult::NeedMore;
    }
    const auto *bytes = reinterpret_cast<const unsigned char *>(data);
    const bool fin = bytes[0] & 0x80;
    const uint8_t opcode = bytes[0] & 0x0F;
    const bool masked = bytes[1] & 0x80;
    uint64_t length = bytes[1] & 0x7F;
    size_t headerSize = 2;
    if (bytes[0] & 0x70) {
        if (error)
            *error = "frame with a reserved bit set";
        return ParseResult::Error;
    }
    if ((opcode > OpBinary && opcode < OpClose) || opcode > OpPong) {
        if (error)
            *error = "frame with the reserved opcode " + std::to_string(opcode);
        return ParseResult::Error;
    }
    if (length == 126)
        headerSize = 4;
    else if (length == 127)
        headerSize = 10;
    if (masked)
        headerSize += 4;
    if (available < headerSize) {
        consumed = headerSize;
        return ParseResult::NeedMore;
    }
    if (length == 126) {
        length = uint64_t(bytes[2]) << 8 | bytes[3];
    } else if (length == 127) {
        length = 0;
        for (int i = 0; i < 8; ++i)
            length = length << 8 | bytes[2 + i];
    }
    if (opcode >= OpClose && (!fin || length > 125)) {
        if (error)
            *error = "fragmented or oversized control frame";
        return ParseResult::Error;
    }
    if (length > maxPayload) {
        if (error)
            *error = "frame of " + std::to_string(length) + " bytes is over the limit";
        return ParseResult::Error;
    }
    const size_t total = headerSize + size_t(length);
    if (available < total) {
        consumed = total;
        return ParseResult::NeedMore;
    }
    frame.opcode = opcode;
    frame.fin = fin;
    frame.payload = data + headerSize;
    frame.size = size_t(length);
    if (masked) {
        const size_t keyAt = headerSize - 4;
        const uint32_t key = uint32_t(bytes[keyAt]) << 24 | uint32_t(bytes[keyAt + 1]) << 16
                | uint32_t(bytes[keyAt + 2]) << 8 | bytes[keyAt + 3];
        applyMask(frame.payload, frame.size, key);
    }
    consumed = total;
    return ParseResult::Frame;
}

} // namespace loadgen
