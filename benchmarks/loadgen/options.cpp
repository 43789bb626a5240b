// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "options.h"

namespace loadgen {

std::string finishOptions(Options &o)
{
    if (o.threads < 1 || o.threads > 64)
        return "--threads must be 1 to 64";
    // 0 (or less) was "no server process" before a list could be given: keep it so.
    std::vector<int> pids;
    for (const int pid : o.serverPids) {
        if (pid > 0)
            pids.push_back(pid);
    }
    o.serverPids = pids;
    if (!o.ports.empty()) {
        if (o.port != 0)
            return "give --port or --ports, not both";
        if (o.scenario != Scenario::Fanout && o.scenario != Scenario::Latency)
            return "--ports is for fanout and latency only";
        for (const int port : o.ports) {
            if (port <= 0 || port > 65535)
                return "--ports takes port numbers from 1 to 65535, separated by commas";
        }
        o.port = o.ports.front();
    }
    if (o.scenario != Scenario::SelfCheck && (o.port <= 0 || o.port > 65535))
        return "--port is required (the server's port)";
    if (o.window < 1)
        return "--window must be at least 1";
    if (o.maxHandshakes < 1)
        return "--max-handshakes must be at least 1";
    if (o.warmup < 0 || o.duration <= 0)
        return "--warmup must be 0 or more and --duration more than 0";
    switch (o.scenario) {
    case Scenario::Fanout:
    case Scenario::Latency:
        if (o.subscribers < 1)
            return "--subscribers must be at least 1";
        if (o.scenario == Scenario::Latency && o.rate <= 0)
            return "--rate must be more than 0";
        if (o.state.empty())
            o.state = o.scenario == Scenario::Fanout ? "fanout" : "latency";
        o.totalClients = 1 + o.subscribers;
        o.totalWriters = 1;
        o.sendMode = o.scenario == Scenario::Fanout ? SendMode::Window : SendMode::Paced;
        break;
    case Scenario::ManyStates:
        if (o.states < 1 || o.clientsPerState < 1)
            return "--states and --clients-per-state must be at least 1";
        o.totalClients = o.states * o.clientsPerState;
        o.totalWriters = o.totalClients;
        o.sendMode = SendMode::Window;
        break;
    case Scenario::JoinStorm:
        if (o.clients < 1 || o.stormUpdates < 1)
            return "--clients and --storm-updates must be at least 1";
        if (o.state.empty())
            o.state = "storm";
        o.totalClients = o.clients;
        o.totalWriters = 1;
        o.sendMode = SendMode::Burst;
        break;
    case Scenario::SelfCheck:
        if (o.selfCheckConnections < 1)
            return "--connections must be at least 1";
        o.state = "selfcheck";
        o.threads = 1; // the point is what one core takes in
        o.totalClients = o.selfCheckConnections;
        o.totalWriters = 0;
        o.sendMode = SendMode::None;
        o.updates = 0;
        break;
    }
    if (o.totalClients < o.threads)
        o.threads = o.totalClients;
    if (o.ports.empty())
        o.ports.push_back(o.port);
    return {};
}

size_t Options::portIndexOf(int id) const
{
    // The writer (client 0) and the first subscriber on the first server, the second
    // subscriber on the second, and so on.
    if (ports.size() < 2 || id <= 0)
        return 0;
    return size_t(id - 1) % ports.size();
}

} // namespace loadgen
