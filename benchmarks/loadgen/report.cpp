// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#include "report.h"

#include <cinttypes>
#include <cstdio>
#include <string>

namespace loadgen {

namespace {

std::string quoted(const std::string &text)
{
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\u%04x", c);
            out += escape;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

// A JSON object built field by field.
class Json
{
public:
    void add(const char *name, const std::string &raw)
    {
        m_text += m_text.empty() ? "{" : ",";
        m_text += quoted(name) + ":" + raw;
    }
    void text(const char *name, const std::string &value) { add(name, quoted(value)); }
    void integer(const char *name, int64_t value) { add(name, std::to_string(value)); }
    void boolean(const char *name, bool value) { add(name, value ? "true" : "false"); }
    void number(const char *name, double value, int decimals = 1)
    {
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
        add(name, buffer);
    }
    std::string finish() const { return m_text.empty() ? "{}" : m_text + "}"; }

private:
    std::string m_text;
};

double microseconds(uint64_t ns)
{
    return double(ns) / 1000.0;
}

} // namespace

bool report(const Options &o, const Result &result)
{
    const WorkerStats &s = result.stats;
    const uint64_t lost = s.gaps + s.missing;
    const bool timed = o.updates <= 0 && o.scenario != Scenario::JoinStorm;
    double seconds = o.duration;
    if (!timed) {
        const int64_t end = s.drainedNs ? s.drainedNs : s.lastDeliveryNs;
        seconds = result.startNs && end > result.startNs ? double(end - result.startNs) / 1e9 : 0.0;
    }
    const double joinSeconds
            = s.lastJoinNs > s.firstConnectNs ? double(s.lastJoinNs - s.firstConnectNs) / 1e9 : 0.0;
    const double cpuWindow = timed ? o.duration : seconds;
    const bool updatesReachedAll
            = !result.aborted && s.missing == 0 && s.gaps == 0 && s.drainedNs != 0;
    bool ok = !result.aborted && lost == 0 && s.outOfOrder == 0 && s.serverErrors == 0
            && s.errors.empty();
    if (o.scenario == Scenario::SelfCheck)
        ok = ok && result.pongsReceived > 0;

    Json json;
    json.text("scenario", o.scenarioName);
    json.text("server", o.serverLabel);
    json.boolean("ok", ok);
    json.integer("clients", o.totalClients);
    json.integer("threads", o.threads);
    switch (o.scenario) {
    case Scenario::Fanout:
        json.integer("subscribers", o.subscribers);
        json.integer("payload", int64_t(o.payload));
        json.integer("window", o.window);
        break;
    case Scenario::Latency:
        json.integer("subscribers", o.subscribers);
        json.integer("payload", int64_t(o.payload));
        json.number("rate", o.rate);
        break;
    case Scenario::ManyStates:
        json.integer("states", o.states);
        json.integer("clients_per_state", o.clientsPerState);
        json.integer("payload", int64_t(o.payload));
        json.integer("window", o.window);
        break;
    case Scenario::JoinStorm:
        json.integer("max_handshakes", o.maxHandshakes);
        json.integer("updates", o.stormUpdates);
        break;
    case Scenario::SelfCheck:
        json.integer("connections", o.selfCheckConnections);
        break;
    }
    json.integer("joined", s.joined);
    json.number("join_s", joinSeconds, 3);
    json.number("measured_s", seconds, 3);
    json.integer("deliveries", int64_t(s.deliveriesMeasured));
    const double rate = seconds > 0 ? double(s.deliveriesMeasured) / seconds : 0.0;
    json.number(o.scenario == Scenario::SelfCheck ? "frames_per_s" : "deliveries_per_s", rate);
    if (o.scenario != Scenario::SelfCheck && o.scenario != Scenario::JoinStorm)
        json.number("updates_per_s", seconds > 0 ? double(s.echoesMeasured) / seconds : 0.0);
    if (s.latency.count()) {
        Json latency;
        latency.number("p50", microseconds(s.latency.quantile(0.50)));
        latency.number("p99", microseconds(s.latency.quantile(0.99)));
        latency.number("p999", microseconds(s.latency.quantile(0.999)));
        latency.number("max", microseconds(s.latency.max()));
        latency.integer("samples", int64_t(s.latency.count()));
        json.add("latency_us", latency.finish());
    }
    if (!s.deliveriesPerPort.empty()) {
        // Each server of a cluster: its subscribers, what they received, how late.
        std::string servers = "[";
        for (size_t i = 0; i < s.deliveriesPerPort.size(); ++i) {
            int subscribers = 0;
            for (int id = 1; id <= o.subscribers; ++id)
                subscribers += o.portIndexOf(id) == i ? 1 : 0;
            Json server;
            server.integer("port", o.ports[i]);
            server.integer("subscribers", subscribers);
            server.integer("deliveries", int64_t(s.deliveriesPerPort[i]));
            server.number("deliveries_per_s",
                          seconds > 0 ? double(s.deliveriesPerPort[i]) / seconds : 0.0);
            const Histogram &h = s.latencyPerPort[i];
            if (h.count()) {
                Json latency;
                latency.number("p50", microseconds(h.quantile(0.50)));
                latency.number("p99", microseconds(h.quantile(0.99)));
                latency.number("p999", microseconds(h.quantile(0.999)));
                server.add("latency_us", latency.finish());
            }
            servers += (i ? "," : "") + server.finish();
        }
        json.add("per_server", servers + "]");
    }
    if (o.scenario == Scenario::JoinStorm) {
        json.boolean("updates_reach_all", updatesReachedAll);
        json.number("updates_s", seconds, 3);
        json.integer("rss_before_kib", result.rssBeforeKiB);
        json.integer("rss_joined_kib", result.rssJoinedKiB);
        json.integer("rss_idle_kib", result.rssIdleKiB);
        if (result.rssBeforeKiB >= 0 && result.rssIdleKiB >= 0)
            json.number("rss_per_client_kib",
                        double(result.rssIdleKiB - result.rssBeforeKiB) / o.totalClients, 2);
    }
    if (o.scenario == Scenario::SelfCheck) {
        json.integer("pings_sent", int64_t(result.pingsSent));
        json.integer("pongs_received", int64_t(result.pongsReceived));
        json.integer("pings_answered", int64_t(s.pings));
    }
    if (s.serverCpu[0] >= 0 && s.serverCpu[1] >= 0 && cpuWindow > 0)
        json.number("server_cpu", (s.serverCpu[1] - s.serverCpu[0]) / cpuWindow, 2);
    // The server's own thread: where a server that keeps its states on one thread stalls.
    if (s.serverMainThreadCpu[0] >= 0 && s.serverMainThreadCpu[1] >= 0 && cpuWindow > 0)
        json.number("server_main_thread_cpu",
                    (s.serverMainThreadCpu[1] - s.serverMainThreadCpu[0]) / cpuWindow, 2);
    if (s.ownCpu[0] >= 0 && s.ownCpu[1] >= 0 && cpuWindow > 0)
        json.number("loadgen_cpu", (s.ownCpu[1] - s.ownCpu[0]) / cpuWindow, 2);
    // What the rest of the machine used meanwhile (other processes, unattributed kernel
    // work): a run that competed with something else shows it here.
    if (s.machineCpu[0] >= 0 && s.machineCpu[1] >= 0 && s.serverCpu[0] >= 0 && s.serverCpu[1] >= 0
        && s.ownCpu[0] >= 0 && s.ownCpu[1] >= 0 && cpuWindow > 0
        && o.scenario != Scenario::SelfCheck) {
        const double others = (s.machineCpu[1] - s.machineCpu[0])
                - (s.serverCpu[1] - s.serverCpu[0]) - (s.ownCpu[1] - s.ownCpu[0]);
        json.number("other_cpu", (others > 0 ? others : 0.0) / cpuWindow, 2);
    }
    json.integer("lost", int64_t(lost));
    json.integer("out_of_order", int64_t(s.outOfOrder));
    json.integer("server_errors", int64_t(s.serverErrors));
    json.integer("bytes_received", int64_t(s.bytesReceived));
    std::string errors = "[";
    for (size_t i = 0; i < s.errors.size(); ++i)
        errors += (i ? "," : "") + quoted(s.errors[i]);
    json.add("errors", errors + "]");
    std::printf("%s\n", json.finish().c_str());
    std::fflush(stdout);

    std::fprintf(stderr, "%s against %s: %s\n", o.scenarioName.c_str(), o.serverLabel.c_str(),
                 ok ? "correct" : "FAILED");
    std::fprintf(stderr, "  %" PRId64 " of %d clients joined in %.3f s\n", s.joined, o.totalClients,
                 joinSeconds);
    std::fprintf(stderr, "  %" PRIu64 " deliveries in %.3f s: %.0f/s\n", s.deliveriesMeasured,
                 seconds, rate);
    if (s.latency.count()) {
        std::fprintf(stderr, "  latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
                     microseconds(s.latency.quantile(0.5)), microseconds(s.latency.quantile(0.99)),
                     microseconds(s.latency.quantile(0.999)), microseconds(s.latency.max()));
    }
    if (o.scenario == Scenario::JoinStorm) {
        std::fprintf(stderr, "  updates %s every client in %.3f s\n",
                     updatesReachedAll ? "reached" : "did NOT reach", seconds);
        if (result.rssBeforeKiB >= 0 && result.rssIdleKiB >= 0)
            std::fprintf(stderr,
                         "  server RSS %" PRId64 " KiB before, %" PRId64
                         " KiB joined and idle: %.2f KiB per client\n",
                         result.rssBeforeKiB, result.rssIdleKiB,
                         double(result.rssIdleKiB - result.rssBeforeKiB) / o.totalClients);
    }
    for (size_t i = 0; i < s.deliveriesPerPort.size(); ++i) {
        const Histogram &h = s.latencyPerPort[i];
        std::fprintf(stderr, "  server on port %d: %" PRIu64 " deliveries", o.ports[i],
                     s.deliveriesPerPort[i]);
        if (h.count())
            std::fprintf(stderr, ", latency p50 %.1f us, p99 %.1f us",
                         microseconds(h.quantile(0.5)), microseconds(h.quantile(0.99)));
        std::fputc('\n', stderr);
    }
    if (lost || s.outOfOrder || s.serverErrors)
        std::fprintf(stderr,
                     "  lost %" PRIu64 ", out of order %" PRIu64 ", error answers %" PRIu64 "\n",
                     lost, s.outOfOrder, s.serverErrors);
    for (const std::string &error : s.errors)
        std::fprintf(stderr, "  error: %s\n", error.c_str());
    return ok;
}

} // namespace loadgen
