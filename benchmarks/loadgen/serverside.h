// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// What the tool's two built-in servers (the self-check's fake server and the relay)
// share: a listening socket on 127.0.0.1, and the server's half of the WebSocket opening
// handshake.

#pragma once

#include <cstddef>
#include <string>

namespace loadgen {

// A non-blocking listening socket on 127.0.0.1 and `port` (0: a free one), with a backlog
// of 4,096 so that a burst of connects is not dropped; `boundPort` is the port it got.
// -1, with `error`, when it cannot.
int listenOnLoopback(int port, int &boundPort, std::string &error);

enum class UpgradeResult { NeedMore, Answered, Error };

// Reads the HTTP request of a WebSocket opening handshake at the start of `in`. When the
// whole request is there: appends the 101 answer to `answer`, sets `requestSize` to the
// bytes the request takes in `in` (what follows is already WebSocket frames) and returns
// Answered. Error (with `error`): not a GET, no Sec-WebSocket-Key, or more than 16 KiB
// without the end of the request.
UpgradeResult answerUpgrade(const std::string &in, std::string &answer, size_t &requestSize,
                            std::string &error);

} // namespace loadgen
