// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Readings of a process from /proc: the server's memory and CPU time, and our own.

#pragma once

#include <cstdint>
#include <vector>

namespace loadgen {

// VmRSS of the process in KiB, or -1 when it cannot be read.
int64_t processRssKiB(int pid);
// User plus system CPU time of the process in seconds (all its threads), or -1.
double processCpuSeconds(int pid);
// The same for the process' first thread only (the one main() runs on), or -1.
double mainThreadCpuSeconds(int pid);
// The same summed over several processes; -1 when one of them cannot be read.
int64_t processesRssKiB(const std::vector<int> &pids);
double processesCpuSeconds(const std::vector<int> &pids);
// CPU seconds the whole machine spent busy (every CPU, every process, the kernel), from
// /proc/stat, or -1: what the server and this process did not use of it, others did.
double machineBusySeconds();
// The same for this process (all threads), or for the calling thread only.
double ownCpuSeconds(bool callingThreadOnly = false);

} // namespace loadgen
