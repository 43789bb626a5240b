// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "relay.h"

#include "relaythread.h"
#include "serverside.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace loadgen {

namespace {

bool readWholeNumber(const char *text, long minimum, long maximum, long &value)
{
    char *end = nullptr;
    value = std::strtol(text, &end, 10);
    return end != text && *end == '\0' && value >= minimum && value <= maximum;
}

} // namespace

int runRelay(int argc, char **argv)
{
    long port = 0;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    for (int i = 2; i < argc; i += 2) {
        const std::string name = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : nullptr;
        bool ok = value != nullptr;
        if (ok && name == "--port")
            ok = readWholeNumber(value, 0, 65535, port);
        else if (ok && name == "--threads")
            ok = readWholeNumber(value, 1, 64, threads);
        else
            ok = false;
        if (!ok) {
            std::fprintf(stderr,
                         "qstatesync-loadgen relay: bad option %s %s\n"
                         "usage: qstatesync-loadgen relay [--port N (0)] [--threads T (1-64, "
                         "default: the number of cores)]\n",
                         name.c_str(), value ? value : "");
            return 2;
        }
    }

    // SIGINT and SIGTERM are blocked in every thread (the relay's threads inherit the
    // mask) and taken here, by sigwait(). A client gone away must not end the process.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    std::string error;
    int boundPort = 0;
    const int listener = listenOnLoopback(int(port), boundPort, error);
    if (listener < 0) {
        std::fprintf(stderr, "qstatesync-loadgen relay: %s\n", error.c_str());
        return 1;
    }
    std::vector<std::unique_ptr<RelayThread>> all;
    for (long i = 0; i < threads; ++i)
        all.push_back(std::make_unique<RelayThread>(all, i == 0 ? listener : -1));
    for (const auto &thread : all) {
        if (!thread->setUp()) {
            std::fprintf(stderr, "qstatesync-loadgen relay: %s\n", thread->error().c_str());
            ::close(listener);
            return 1;
        }
    }
    std::vector<std::thread> running;
    for (const auto &thread : all)
        running.emplace_back([&thread] { thread->run(); });

    std::printf("qstatesync-loadgen relay listening on ws://127.0.0.1:%d\n", boundPort);
    std::fflush(stdout);
    std::fprintf(stderr, "qstatesync-loadgen relay: threads: %ld\n", threads);

    int signal = 0;
    sigwait(&signals, &signal);
    for (const auto &thread : all)
        thread->stop();
    for (std::thread &thread : running)
        thread.join();
    uint64_t backlogs = 0;
    for (const auto &thread : all)
        backlogs += thread->backlogs();
    all.clear();
    ::close(listener);
    std::fprintf(stderr,
                 "qstatesync-loadgen relay: stopped by %s; a socket did not take a whole "
                 "frame at once, and the rest waited for EPOLLOUT: %llu times\n",
                 signal == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<unsigned long long>(backlogs));
    return 0;
}

} // namespace loadgen
