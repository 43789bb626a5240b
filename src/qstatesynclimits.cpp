// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#include "qstatesynclimits_p.h"

#include <algorithm>

bool QStateSyncTokenBucket::take(double rate, int burst)
{
    if (rate <= 0)
        return true;
    const double capacity = std::max(burst, 1);
    if (!m_clock.isValid()) {
        // A client starts with a full bucket: a burst right after joining is normal.
        m_tokens = capacity;
        m_clock.start();
    } else {
        const qint64 elapsedNs = m_clock.nsecsElapsed();
        m_clock.start();
        m_tokens = std::min(capacity, m_tokens + rate * double(elapsedNs) / 1e9);
    }
    if (m_tokens < 1)
        return false;
    m_tokens -= 1;
    return true;
}

bool QStateSyncLogThrottle::allow(quint64 *heldBack, qint64 intervalMs)
{
    if (m_last.isValid() && !m_last.hasExpired(intervalMs)) {
        ++m_heldBack;
        return false;
    }
    m_last.start();
    *heldBack = std::exchange(m_heldBack, 0);
    return true;
}
