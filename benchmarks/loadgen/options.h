// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace loadgen {

enum class Scenario { Fanout, ManyStates, JoinStorm, Latency, SelfCheck };

// How the writers of a scenario send.
enum class SendMode {
    None, // nobody writes (self-check)
    Window, // each writer keeps `window` of its updates in flight
    Paced, // one writer, `rate` updates per second at fixed times
    Burst, // one writer sends `stormUpdates` at once
};

struct Options
{
    Scenario scenario = Scenario::Fanout;
    std::string scenarioName = "fanout";
    std::string serverLabel = "server";
    std::string host = "127.0.0.1";
    int port = 0;
    // --ports (fanout, latency): several servers on the same host; the writer uses the
    // first, the subscribers take them in turn. Without it: just `port`.
    std::vector<int> ports;
    // --server-pid: the server's processes (several for a cluster); their CPU times and
    // VmRSS are summed.
    std::vector<int> serverPids;
    int threads = 1;

    int subscribers = 100; // fanout, latency
    size_t payload = 64;
    int window = 4;
    double rate = 100; // latency: updates per second
    int states = 1000; // manystates
    int clientsPerState = 4;
    std::string statePrefix = "s"; // manystates: s0, s1, ...
    std::string state; // the one state of fanout, latency, joinstorm (default per scenario)
    int clients = 10000; // joinstorm
    int stormUpdates = 5;
    int maxHandshakes = 500; // connections between connect() and the join's answer
    int64_t updates = 0; // when > 0: each writer sends exactly this many, then stops

    double warmup = 1.0; // seconds
    double duration = 2.5; // seconds measured after the warm-up
    double connectTimeout = 120; // seconds for every client to join
    double drainTimeout = 20; // seconds for the last updates to arrive everywhere
    double idle = 0.5; // joinstorm: seconds of quiet before the second RSS reading

    size_t maxPayload = size_t(64) << 20;
    // Self-check only: connections to the built-in fake server.
    int selfCheckConnections = 100;
    // Self-check only: the fake server leaves one message of every block out, which the
    // check must report as lost (a test of the checking itself).
    bool fakeLoss = false;

    // Derived.
    SendMode sendMode = SendMode::Window;
    int totalClients = 0;
    int totalWriters = 0;
    uint64_t sequenceModulo = 0; // self-check: the fake server's sequence numbers wrap

    // The index in `ports` of the server client `id` connects to.
    size_t portIndexOf(int id) const;
};

// Fills the derived fields; returns an error text, or empty when the options make sense.
std::string finishOptions(Options &options);

} // namespace loadgen
