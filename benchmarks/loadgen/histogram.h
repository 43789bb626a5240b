// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace loadgen {

// Latencies in nanoseconds, in log-linear buckets: 128 per power of two, so a percentile
// is within 0.8 % of the true value; recording is a few instructions.
class Histogram
{
public:
    static constexpr int SubBucketBits = 7;
    static constexpr uint64_t SubBuckets = uint64_t(1) << SubBucketBits;

    Histogram()
        : m_counts((64 - SubBucketBits + 1) * SubBuckets, 0)
    { }

    void record(uint64_t value)
    {
        ++m_counts[indexOf(value)];
        ++m_total;
        if (value > m_max)
            m_max = value;
    }

    void merge(const Histogram &other)
    {
        for (size_t i = 0; i < m_counts.size(); ++i)
            m_counts[i] += other.m_counts[i];
        m_total += other.m_total;
        if (other.m_max > m_max)
            m_max = other.m_max;
    }

    uint64_t count() const { return m_total; }
    uint64_t max() const { return m_max; }

    // The value at quantile q (0..1): the middle of the bucket that holds it.
    uint64_t quantile(double q) const
    {
        if (!m_total)
            return 0;
        uint64_t rank = uint64_t(q * double(m_total) + 0.999999);
        if (rank < 1)
            rank = 1;
        if (rank > m_total)
            rank = m_total;
        uint64_t seen = 0;
        for (size_t i = 0; i < m_counts.size(); ++i) {
            seen += m_counts[i];
            if (seen >= rank) {
                const uint64_t middle = lowestOf(i) + (widthOf(i) - 1) / 2;
                return middle < m_max ? middle : m_max;
            }
        }
        return m_max;
    }

private:
    static size_t indexOf(uint64_t value)
    {
        if (value < SubBuckets)
            return size_t(value);
        const int topBit = 63 - __builtin_clzll(value);
        const int shift = topBit - SubBucketBits;
        return size_t((shift + 1) * SubBuckets + ((value >> shift) - SubBuckets));
    }
    static uint64_t lowestOf(size_t index)
    {
        if (index < SubBuckets)
            return index;
        const int shift = int(index / SubBuckets) - 1;
        return (index % SubBuckets + SubBuckets) << shift;
    }
    static uint64_t widthOf(size_t index)
    {
        return index < SubBuckets ? 1 : uint64_t(1) << (index / SubBuckets - 1);
    }

    std::vector<uint64_t> m_counts;
    uint64_t m_total = 0;
    uint64_t m_max = 0;
};

} // namespace loadgen
