// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#pragma once

#include "options.h"
#include "worker.h"

#include <cstdint>

namespace loadgen {

struct Result
{
    WorkerStats stats;
    bool aborted = false;
    int64_t startNs = 0;
    int64_t rssBeforeKiB = -1;
    int64_t rssJoinedKiB = -1;
    int64_t rssIdleKiB = -1;
    uint64_t pingsSent = 0;
    uint64_t pongsReceived = 0;
};

// Writes the run's JSON line to stdout and its summary to stderr; returns whether the run
// was correct (nothing lost, nothing out of order, no client failed, no error answer).
bool report(const Options &options, const Result &result);

} // namespace loadgen
