// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The WebSocket (RFC 6455) pieces the load generator needs, without a library: the
// opening handshake's key and accept values, client frames (masked) and server frames,
// and an incremental frame parser that works on the caller's buffer in place.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loadgen {

enum Opcode : uint8_t {
    OpContinuation = 0x0,
    OpText = 0x1,
    OpBinary = 0x2,
    OpClose = 0x8,
    OpPing = 0x9,
    OpPong = 0xA,
};

// A small, fast generator for masking keys and handshake nonces. RFC 6455 asks for
// unpredictable masks so that a browser cannot be used to poison proxies; a benchmark
// client on loopback only needs them to vary.
class Random
{
public:
    explicit Random(uint64_t seed);
    uint64_t next();
    uint32_t next32() { return uint32_t(next() >> 32); }

private:
    uint64_t m_state;
};

uint64_t randomSeed();

std::string base64(const unsigned char *data, size_t size);
// SHA-1 of the bytes, 20 bytes out (only used for Sec-WebSocket-Accept).
void sha1(const unsigned char *data, size_t size, unsigned char digest[20]);
// A fresh Sec-WebSocket-Key: 16 random bytes in base64.
std::string makeWebSocketKey(Random &random);
// The Sec-WebSocket-Accept value a server must answer for this key.
std::string acceptValueFor(const std::string &key);

// Size of a frame header for a payload of this size (mask key included when masked).
size_t frameHeaderSize(size_t payloadSize, bool masked);
// Writes a header with FIN set; returns its size. `header` must hold 14 bytes.
size_t writeFrameHeader(char *header, uint8_t opcode, bool fin, size_t payloadSize,
                        const uint32_t *maskKey);
// Appends a complete client frame (FIN, masked with `maskKey`) carrying `payload`.
void appendMaskedFrame(std::string &out, uint8_t opcode, const char *payload, size_t size,
                       uint32_t maskKey);
// Appends a complete unmasked (server) frame.
void appendServerFrame(std::string &out, uint8_t opcode, bool fin, const char *payload,
                       size_t size);
// XORs `size` bytes at `data` with the mask key (its bytes in network order); `offset` is
// the position of `data` in the payload.
void applyMask(char *data, size_t size, uint32_t maskKey, size_t offset = 0);

struct Frame
{
    uint8_t opcode = 0;
    bool fin = false;
    char *payload = nullptr; // unmasked in place
    size_t size = 0;
};

enum class ParseResult { Frame, NeedMore, Error };

// Looks at the bytes at `data` and, when a whole frame is there, unmasks it in place and
// describes it in `frame`; `consumed` is the frame's total size. With NeedMore,
// `consumed` is how many bytes the frame needs at least (header or whole frame) once
// that is known, or 0. Error: a reserved bit, a bad opcode, a fragmented or oversized
// control frame, or a length over `maxPayload`.
ParseResult parseFrame(char *data, size_t available, size_t maxPayload, Frame &frame,
                       size_t &consumed, std::string *error);

} // namespace loadgen
