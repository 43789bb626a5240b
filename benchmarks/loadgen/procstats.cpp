// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "procstats.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <unistd.h>

namespace loadgen {

int64_t processRssKiB(int pid)
{
    const std::string path = "/proc/" + std::to_string(pid) + "/status";
    FILE *file = std::fopen(path.c_str(), "re");
    if (!file)
        return -1;
    char line[256];
    int64_t result = -1;
    while (std::fgets(line, sizeof line, file)) {
        if (std::strncmp(line, "VmRSS:", 6) == 0) {
            result = std::strtoll(line + 6, nullptr, 10);
            break;
        }
    }
    std::fclose(file);
    return result;
}

int64_t processesRssKiB(const std::vector<int> &pids)
{
    int64_t sum = 0;
    for (const int pid : pids) {
        const int64_t rss = processRssKiB(pid);
        if (rss < 0)
            return -1;
        sum += rss;
    }
    return sum;
}

double processesCpuSeconds(const std::vector<int> &pids)
{
    double sum = 0;
    for (const int pid : pids) {
        const double seconds = processCpuSeconds(pid);
        if (seconds < 0)
            return -1;
        sum += seconds;
    }
    return sum;
}

namespace {
double cpuSecondsOf(const std::string &path);
} // namespace

double processCpuSeconds(int pid)
{
    return cpuSecondsOf("/proc/" + std::to_string(pid) + "/stat");
}

double mainThreadCpuSeconds(int pid)
{
    return cpuSecondsOf("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/stat");
}

namespace {
double cpuSecondsOf(const std::string &path)
{
    FILE *file = std::fopen(path.c_str(), "re");
    if (!file)
        return -1;
    char text[1024];
    const size_t size = std::fread(text, 1, sizeof text - 1, file);
    std::fclose(file);
    text[size] = '\0';
    // The command name (field 2) may hold spaces and parentheses: start after its end.
    const char *p = std::strrchr(text, ')');
    if (!p)
        return -1;
    ++p;
    // Fields 3 to 13 come before utime (14) and stime (15).
    for (int field = 3; field <= 13; ++field) {
        while (*p == ' ')
            ++p;
        while (*p && *p != ' ')
            ++p;
    }
    char *end = nullptr;
    const unsigned long long user = std::strtoull(p, &end, 10);
    const unsigned long long system = std::strtoull(end, nullptr, 10);
    return double(user + system) / double(sysconf(_SC_CLK_TCK));
}
} // namespace

double machineBusySeconds()
{
    FILE *file = std::fopen("/proc/stat", "re");
    if (!file)
        return -1;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
    const int fields = std::fscanf(file, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice,
                                   &system, &idle, &iowait, &irq, &softirq);
    std::fclose(file);
    if (fields != 7)
        return -1;
    return double(user + nice + system + irq + softirq) / double(sysconf(_SC_CLK_TCK));
}

double ownCpuSeconds(bool callingThreadOnly)
{
    rusage usage{};
    getrusage(callingThreadOnly ? RUSAGE_THREAD : RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

} // namespace loadgen
