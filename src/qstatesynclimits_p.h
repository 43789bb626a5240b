// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QSTATESYNCLIMITS_P_H
#define QSTATESYNCLIMITS_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qglobal.h>

// What a QStateSyncer allows each client and each state, beyond what the transport
// enforces before a WebSocket opens. Zero means no limit, except for updateBurst.
// QStateSyncer's property documentation gives the reasons for the defaults.
struct QStateSyncServerLimits
{
    int heartbeatIntervalMs = 30000;
    qint64 maxStateSize = 16 * 1024 * 1024;
    int maxClientsPerState = 1000;
    double updateRate = 100;
    int updateBurst = 200;
    qint64 maxPendingOutput = 4 * 1024 * 1024;
    bool revealStateExistence = false;

    // A congested connection is sent what it missed once its queue is down to this.
    qint64 pendingOutputLowWater() const { return maxPendingOutput / 4; }
};

// A token bucket: it holds at most burst tokens, gains rate tokens per second, and each
// update takes one. The settings are passed at every use, so a change of the server's
// limits applies at a client's next update.
class QStateSyncTokenBucket
{
public:
    // Takes a token and returns true, or returns false when there is none.
    bool take(double rate, int burst);

private:
    double m_tokens = 0;
    QElapsedTimer m_clock;
};

// Keeps a log from being flooded by one peer: the first line passes, then at most one
// per interval; allow() tells how many lines were held back in between.
class QStateSyncLogThrottle
{
public:
    bool allow(quint64 *heldBack, qint64 intervalMs = 1000);

private:
    QElapsedTimer m_last;
    quint64 m_heldBack = 0;
};

#endif // QSTATESYNCLIMITS_P_H
