// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// `qstatesync-loadgen relay`: a bare v1 WebSocket relay, the least work any server can do
// per delivery, to measure the floor that the machine sets under every server. A client's
// CONNECT_TO_STATE joins it to the state (any name: nothing is configured) and gets
// STATE_CONNECTION_ESTABLISHED with an empty value; its UPDATE_STATE is framed once,
// unchanged, and sent to every client of the state, the sender included, with one send()
// each. No value is kept, nothing is merged or checked beyond the message's type.
//
// It listens on 127.0.0.1 only. T threads (relaythread.h) each have their own epoll set
// and their own share of the connections: the first thread accepts and hands the new
// connections to the threads in turn, so that the shares are equal to one connection
// (SO_REUSEPORT would spread them by a hash of the addresses, unevenly by chance, and the
// largest share decides the latest delivery). The thread that reads an update hands the
// framed update to the others and sends it to its own clients of the state; each of the
// others sends it to its own: the same division of work as qstatesyncd's I/O threads.

#pragma once

namespace loadgen {

// Runs the relay until SIGINT or SIGTERM; argv[1] is "relay". Returns the exit status.
int runRelay(int argc, char **argv);

} // namespace loadgen
