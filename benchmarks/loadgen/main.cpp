// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// qstatesync-loadgen: a load generator for servers of the v1 protocol (qstatesyncd, and
// any server of the JavaScript server-state-sync's protocol), and with `relay` a bare v1
// server (relay.h) whose latency is the floor under any server. doc/benchmarks.md
// describes the method; --help lists the scenarios and options.

#include "fakeserver.h"
#include "options.h"
#include "procstats.h"
#include "relay.h"
#include "report.h"
#include "worker.h"

#include <cerrno>
#include <climits>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <type_traits>
#include <vector>

using namespace loadgen;

namespace {

const char Usage[]
        = "usage: qstatesync-loadgen SCENARIO [options]\n"
          "scenarios:\n"
          "  fanout      1 writer, --subscribers S, --payload P, --window W updates in flight\n"
          "  latency     1 writer sending --rate R updates/s at fixed times, --subscribers S\n"
          "  manystates  --states N x --clients-per-state K clients, all writing (--window W)\n"
          "  joinstorm   --clients N join one state (--max-handshakes H at once), then\n"
          "              --storm-updates U updates must reach all of them\n"
          "  selfcheck   --connections N to a built-in server that sends as fast as it can:\n"
          "              how many frames per second this tool takes in\n"
          "  relay       no client: a bare v1 relay server on 127.0.0.1 --port N (0), with\n"
          "              --threads T (the number of cores); runs until SIGINT or SIGTERM\n"
          "options:\n"
          "  --port N --host ADDR (127.0.0.1)   the server\n"
          "  --ports N1,N2,...                  fanout, latency: servers on the same host (a\n"
          "                                     cluster); the writer on the first, the\n"
          "                                     subscribers on each in turn\n"
          "  --server-label NAME                name of the server in the output\n"
          "  --server-pid PID[,PID...]          read the server's CPU time and VmRSS (summed)\n"
          "  --threads N (1)                    threads of the load generator\n"
          "  --state ID  --state-prefix P (s)   state names (manystates: P0, P1, ...)\n"
          "  --updates N                        each writer sends N updates, then stops\n"
          "  --warmup S (1) --duration S (2.5)  seconds of warm-up, then of measurement\n"
          "  --connect-timeout S (120) --drain-timeout S (20) --idle S (0.5)\n"
          "  --connections N (100) --fake-loss 1   selfcheck: connections; leave out a message\n"
          "Prints one JSON line on stdout, the same in words on stderr; exit status 1 when an\n"
          "update was lost, came out of order or a client failed.\n";

// "N1,N2,...": whole numbers separated by commas, at least one.
bool parseIntegerList(const char *text, std::vector<int> &values)
{
    values.clear();
    const char *p = text;
    while (true) {
        char *end = nullptr;
        errno = 0;
        const long value = std::strtol(p, &end, 10);
        if (end == p || errno != 0 || value < INT_MIN || value > INT_MAX)
            return false;
        values.push_back(int(value));
        if (*end == '\0')
            return true;
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

bool parseArguments(int argc, char **argv, Options &o, std::string &error)
{
    if (argc < 2) {
        error = "no scenario";
        return false;
    }
    const std::string scenario = argv[1];
    o.scenarioName = scenario;
    if (scenario == "fanout")
        o.scenario = Scenario::Fanout;
    else if (scenario == "latency")
        o.scenario = Scenario::Latency;
    else if (scenario == "manystates")
        o.scenario = Scenario::ManyStates;
    else if (scenario == "joinstorm")
        o.scenario = Scenario::JoinStorm;
    else if (scenario == "selfcheck")
        o.scenario = Scenario::SelfCheck;
    else {
        error = "unknown scenario " + scenario;
        return false;
    }
    for (int i = 2; i < argc; ++i) {
        const std::string name = argv[i];
        if (i + 1 >= argc) {
            error = name + " needs a value";
            return false;
        }
        const char *value = argv[++i];
        char *end = nullptr;
        const double number = std::strtod(value, &end);
        const bool isNumber = end && *end == '\0' && end != value;
        auto integer = [&](auto &field) {
            if (!isNumber || number != double(static_cast<long long>(number)))
                return false;
            field = static_cast<std::remove_reference_t<decltype(field)>>(number);
            return true;
        };
        bool ok = true;
        if (name == "--host")
            o.host = value;
        else if (name == "--server-label")
            o.serverLabel = value;
        else if (name == "--state")
            o.state = value;
        else if (name == "--state-prefix")
            o.statePrefix = value;
        else if (name == "--port")
            ok = integer(o.port);
        else if (name == "--ports") {
            if (!parseIntegerList(value, o.ports)) {
                error = "--ports takes port numbers separated by commas, not " + std::string(value);
                return false;
            }
        } else if (name == "--server-pid") {
            if (!parseIntegerList(value, o.serverPids)) {
                error = "--server-pid takes process ids separated by commas, not "
                        + std::string(value);
                return false;
            }
        } else if (name == "--threads")
            ok = integer(o.threads);
        else if (name == "--subscribers")
            ok = integer(o.subscribers);
        else if (name == "--payload")
            ok = integer(o.payload);
        else if (name == "--window")
            ok = integer(o.window);
        else if (name == "--states")
            ok = integer(o.states);
        else if (name == "--clients-per-state")
            ok = integer(o.clientsPerState);
        else if (name == "--clients")
            ok = integer(o.clients);
        else if (name == "--storm-updates")
            ok = integer(o.stormUpdates);
        else if (name == "--max-handshakes")
            ok = integer(o.maxHandshakes);
        else if (name == "--updates")
            ok = integer(o.updates);
        else if (name == "--connections")
            ok = integer(o.selfCheckConnections);
        else if (name == "--fake-loss")
            ok = integer(o.fakeLoss);
        else if (name == "--rate" && isNumber)
            o.rate = number;
        else if (name == "--warmup" && isNumber)
            o.warmup = number;
        else if (name == "--duration" && isNumber)
            o.duration = number;
        else if (name == "--connect-timeout" && isNumber)
            o.connectTimeout = number;
        else if (name == "--drain-timeout" && isNumber)
            o.drainTimeout = number;
        else if (name == "--idle" && isNumber)
            o.idle = number;
        else {
            error = "unknown option or bad value: " + name + " " + value;
            return false;
        }
        if (!ok) {
            error = name + " needs a whole number, not " + value;
            return false;
        }
    }
    return true;
}

// 10,000 clients need 10,000 descriptors: take everything the hard limit allows.
std::string raiseFileLimit(int clients)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return std::string("getrlimit: ") + std::strerror(errno);
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
        return std::string("setrlimit: ") + std::strerror(errno);
    if (limit.rlim_cur != RLIM_INFINITY && rlim_t(clients) + 64 > limit.rlim_cur)
        return "the open files limit (" + std::to_string(limit.rlim_cur) + ") is too low for "
                + std::to_string(clients) + " clients";
    return {};
}

} // namespace

int main(int argc, char **argv)
{
    Options options;
    std::string error;
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::fputs(Usage, stdout);
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "relay") == 0) {
        error = raiseFileLimit(0);
        if (!error.empty())
            std::fprintf(stderr, "qstatesync-loadgen relay: %s\n", error.c_str());
        return runRelay(argc, argv);
    }
    if (!parseArguments(argc, argv, options, error) || !(error = finishOptions(options)).empty()) {
        std::fprintf(stderr, "qstatesync-loadgen: %s\n\n%s", error.c_str(), Usage);
        return 2;
    }
    error = raiseFileLimit(options.totalClients);
    if (!error.empty()) {
        std::fprintf(stderr, "qstatesync-loadgen: %s\n", error.c_str());
        return 2;
    }

    std::unique_ptr<FakeServer> fakeServer;
    if (options.scenario == Scenario::SelfCheck) {
        fakeServer = std::make_unique<FakeServer>(options.fakeLoss);
        if (!fakeServer->listen()) {
            std::fprintf(stderr, "qstatesync-loadgen: %s\n", fakeServer->error().c_str());
            return 2;
        }
        options.port = fakeServer->port();
        options.ports.assign(1, options.port);
        options.serverLabel = "built-in fake server";
        options.sequenceModulo = fakeServer->messagesPerBlock();
        fakeServer->start();
    }

    Shared shared(options);
    if (!options.serverPids.empty())
        shared.rssBeforeKiB.store(processesRssKiB(options.serverPids));
    std::vector<std::unique_ptr<Worker>> workers;
    for (int i = 0; i < options.threads; ++i)
        workers.push_back(std::make_unique<Worker>(shared, i));
    std::vector<std::thread> threads;
    for (int i = 1; i < options.threads; ++i)
        threads.emplace_back([&workers, i] { workers[size_t(i)]->run(); });
    workers[0]->run();
    for (std::thread &thread : threads)
        thread.join();

    Result result;
    result.aborted = shared.abort.load();
    result.startNs = shared.startNs.load();
    for (const auto &worker : workers)
        result.stats.merge(worker->stats());
    result.rssBeforeKiB = shared.rssBeforeKiB.load();
    result.rssJoinedKiB = shared.rssJoinedKiB.load();
    if (options.scenario == Scenario::JoinStorm && !options.serverPids.empty() && !result.aborted) {
        // The clients stay connected and quiet while the server settles.
        std::this_thread::sleep_for(std::chrono::duration<double>(options.idle));
        result.rssIdleKiB = processesRssKiB(options.serverPids);
    }
    if (fakeServer) {
        fakeServer->stop();
        result.pingsSent = fakeServer->pingsSent();
        result.pongsReceived = fakeServer->pongsReceived();
        if (!fakeServer->error().empty())
            result.stats.errors.push_back(fakeServer->error());
    }
    const bool ok = report(options, result);
    workers.clear();
    return ok ? 0 : 1;
}
