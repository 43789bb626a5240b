// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef HTTPENDPOINTS_H
#define HTTPENDPOINTS_H

#include <QtCore/qobject.h>

#include <functional>

class QStateSyncHttpRequest;
class QStateSyncer;

// What only the daemon counts, next to the server's own counters.
struct DaemonCounters
{
    quint64 connectionsRefused = 0;
    quint64 hookErrors = 0;
};

// The server's state in the Prometheus text exposition format 0.0.4.
QByteArray prometheusText(const QStateSyncer &syncer, const DaemonCounters &counters);

// A label value with backslash, double quote and line feed escaped, as the format wants.
QByteArray escapeLabelValue(const QString &value);

// Serves GET and HEAD /healthz and /metrics on the server's own port. Other paths are
// left to the server, which answers 426 Upgrade Required.
class HttpEndpoints : public QObject
{
    Q_OBJECT

public:
    struct Options
    {
        bool healthz = true;
        bool metrics = true;
    };

    HttpEndpoints(QStateSyncer *syncer, Options options,
                  std::function<DaemonCounters()> daemonCounters, QObject *parent = nullptr);

private:
    void serve(QStateSyncHttpRequest *request);

    QStateSyncer *m_syncer;
    Options m_options;
    std::function<DaemonCounters()> m_daemonCounters;
};

#endif // HTTPENDPOINTS_H
