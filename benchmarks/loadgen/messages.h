// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The v1 messages of the benchmark, written and read without a JSON library.
//
// Every update the load generator sends is
//     {"type":3,"data":{"updates":{"v":"WRITER:SEQ:NANOS:xxxx..."}}}
// whose one value is a string of exactly the payload size: the writer's number, its
// sequence number (from 0) and the CLOCK_MONOTONIC time it was meant to be sent, padded
// with 'x'. Servers broadcast it back as STATE_UPDATED (type 3) with the same
// `updates` (QStateSync adds a `version`, and orders the keys its own way), so the
// receiver only has to find the type and the first value of `updates`.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loadgen {

enum MessageType : int {
    ConnectToState = 2,
    UpdateState = 3,
    StateUpdated = 3,
    StateConnectionEstablished = 7,
    StateConnectionError = 8,
    StateUpdateFailed = 9,
    UnsupportedMessageType = 10,
};

// The smallest payload that holds the longest stamp (10 + 20 + 20 digits, 3 colons);
// smaller payloads are raised to it.
constexpr size_t MinimumPayloadSize = 64;

// Appends a masked frame with CONNECT_TO_STATE for `state`.
void appendJoinFrame(std::string &out, const std::string &state, uint32_t maskKey);

// Appends a masked frame with an UPDATE_STATE carrying the stamp, its value
// `payloadSize` bytes long (at least MinimumPayloadSize), written in place.
void appendUpdateFrame(std::string &out, uint32_t writer, uint64_t sequence, uint64_t sentNs,
                       size_t payloadSize, uint32_t maskKey);

// The text of a server message as the load generator's receivers need it.
struct ServerMessage
{
    int type = -1;
    bool stamped = false; // a STATE_UPDATED whose first value is one of our stamps
    uint32_t writer = 0;
    uint64_t sequence = 0;
    uint64_t sentNs = 0;
};

// Reads the type, and for STATE_UPDATED the stamp. Returns false when the text has no
// readable "type".
bool readServerMessage(const char *text, size_t size, ServerMessage &message);

// What the relay needs of a client's message.
struct ClientMessage
{
    int type = -1;
    // CONNECT_TO_STATE: the stateIdentifier's text between its quotes, escapes as they
    // are (two spellings of one name are two states); null when there is none or it is
    // empty.
    const char *state = nullptr;
    size_t stateSize = 0;
    bool hasUpdates = false; // UPDATE_STATE: "updates" is an object
};

// Reads the type and what goes with it. Returns false when the text has no readable
// "type".
bool readClientMessage(const char *text, size_t size, ClientMessage &message);

// The text of the message a server sends for an update (used by the self-check's fake
// server): {"type":3,"data":{"updates":{"v":"STAMP"}}}.
std::string serverUpdateText(uint32_t writer, uint64_t sequence, uint64_t sentNs,
                             size_t payloadSize);

// The "message" of an error answer, for the report (at most `limit` bytes, raw).
std::string errorMessageOf(const char *text, size_t size, size_t limit = 200);

} // namespace loadgen
