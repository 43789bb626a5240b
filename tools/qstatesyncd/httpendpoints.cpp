// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "httpendpoints.h"

#include <QStateSyncHttpRequest>
#include <QStateSyncer>

namespace {
// Prometheus' text format, version 0.0.4, so scrapers need no content negotiation.
constexpr char MetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class MetricsWriter
{
public:
    void family(const char *name, const char *type, const char *help)
    {
        m_text += QByteArrayLiteral("# HELP ") + name + ' ' + help + '\n';
        m_text += QByteArrayLiteral("# TYPE ") + name + ' ' + type + '\n';
    }
    void sample(const char *name, quint64 value, const QByteArray &labels = QByteArray())
    {
        m_text += name;
        if (!labels.isEmpty())
            m_text += '{' + labels + '}';
        m_text += ' ' + QByteArray::number(value) + '\n';
    }
    QByteArray text() const { return m_text; }

private:
    QByteArray m_text;
};
} // namespace

QByteArray escapeLabelValue(const QString &value)
{
    QByteArray escaped;
    const QByteArray utf8 = value.toUtf8();
    escaped.reserve(utf8.size());
    for (const char character : utf8) {
        if (character == '\\')
            escaped += "\\\\";
        else if (character == '"')
            escaped += "\\\"";
        else if (character == '\n')
            escaped += "\\n";
        else
            escaped += character;
    }
    return escaped;
}

QByteArray prometheusText(const QStateSyncer &syncer, const DaemonCounters &counters)
{
    MetricsWriter out;
    QStringList states = syncer.stateIdentifiers();
    states.sort();

    out.family("qstatesync_clients", "gauge", "Open client connections.");
    out.sample("qstatesync_clients", quint64(syncer.clientCount()));
    out.family("qstatesync_states", "gauge", "States the server holds.");
    out.sample("qstatesync_states", quint64(states.size()));
    out.family("qstatesync_pending_output_bytes", "gauge",
               "Bytes waiting to be sent to clients, all connections together.");
    out.sample("qstatesync_pending_output_bytes",
               quint64(std::max<qint64>(0, syncer.pendingOutputBytes())));

    const struct
    {
        const char *name;
        const char *help;
        quint64 value;
    } totals[] = {
            {"qstatesync_updates_applied_total", "Changes (updates and appends) applied to states.",
             syncer.updatesApplied()},
            {"qstatesync_updates_refused_total",
             "Changes refused by access rules, hooks, or for their depth or type.",
             syncer.updatesRefused()},
            {"qstatesync_messages_received_total", "WebSocket messages received from clients.",
             syncer.messagesReceived()},
            {"qstatesync_messages_refused_total", "Client messages refused as malformed.",
             syncer.messagesRefused()},
            {"qstatesync_bytes_received_total", "Bytes of message text received from clients.",
             syncer.bytesReceived()},
            {"qstatesync_bytes_sent_total", "Bytes of WebSocket frames sent to clients.",
             syncer.bytesSent()},
            {"qstatesync_connections_refused_total",
             "Connections refused with HTTP 401 by the token check or the authorize hook.",
             counters.connectionsRefused},
            {"qstatesync_connections_over_limit_total",
             "Connections answered 503 because maxClients or maxPendingHandshakes was reached.",
             syncer.connectionsRefused()},
            {"qstatesync_connections_dropped_total",
             "Connections dropped for showing no sign of life, or for not reading their answers.",
             syncer.connectionsDropped()},
            {"qstatesync_hook_errors_total",
             "Script hook calls that threw, returned something unusable or did not answer in time.",
             counters.hookErrors},
    };
    for (const auto &total : totals) {
        out.family(total.name, "counter", total.help);
        out.sample(total.name, total.value);
    }

    out.family("qstatesync_state_clients", "gauge", "Clients joined to a state.");
    for (const QString &state : std::as_const(states)) {
        out.sample("qstatesync_state_clients", quint64(syncer.clientsOfState(state).size()),
                   "state=\"" + escapeLabelValue(state) + '"');
    }
    out.family("qstatesync_state_version", "gauge",
               "Version of a state: the changes applied to it since its creation.");
    for (const QString &state : std::as_const(states)) {
        out.sample("qstatesync_state_version",
                   quint64(std::max<qint64>(0, syncer.versionOfState(state))),
                   "state=\"" + escapeLabelValue(state) + '"');
    }
    out.family("qstatesync_state_bytes", "gauge", "Size of a state's value as compact JSON.");
    for (const QString &state : std::as_const(states)) {
        out.sample("qstatesync_state_bytes",
                   quint64(std::max<qint64>(0, syncer.sizeOfState(state))),
                   "state=\"" + escapeLabelValue(state) + '"');
    }
    return out.text();
}

HttpEndpoints::HttpEndpoints(QStateSyncer *syncer, Options options,
                             std::function<DaemonCounters()> daemonCounters, QObject *parent)
    : QObject(parent)
    , m_syncer(syncer)
    , m_options(options)
    , m_daemonCounters(std::move(daemonCounters))
{
    connect(syncer, &QStateSyncer::httpRequested, this, &HttpEndpoints::serve);
}

void HttpEndpoints::serve(QStateSyncHttpRequest *request)
{
    const QString path = request->path();
    if (m_options.healthz && path == QLatin1String("/healthz"))
        request->respond(200, "ok\n");
    else if (m_options.metrics && path == QLatin1String("/metrics"))
        request->respond(200, prometheusText(*m_syncer, m_daemonCounters()), MetricsContentType);
}
