#!/usr/bin/env python3
# Copyright (C) 2026 The QStateSync Authors.
# SPDX-License-Identifier: GPL-3.0-only
"""Writes doc/benchmarks.md and its plot from the runner's results (benchmarks/run.sh).

Standard library only. Each line of the results file is
{"run", "case", "server_name", "io_threads", "result": <the load generator's JSON line>};
the medians are taken over the runs whose result is correct ("ok": true).
"""

import argparse
import datetime
import json
import os
import platform
import statistics

import benchplot
import reportcluster

SERVERS = ("qstatesyncd", "node")
# The load generator's bare relay (`qstatesync-loadgen relay`), run in the latency cases
# only: the least work any server can do per delivery, so its latency is the floor under
# every server on the machine.
RELAY = "relay"
RELAY_LABEL = "bare relay (floor)"

# case, scenario text, measure, key, unit, better ("higher"/"lower"), target
# A target is (kind, value): ("ratio>=", 4) on QStateSync / Node, ("ratio<=", 0.25),
# ("ratio<", 1), ("max", 10) on QStateSync's own value, ("true", None).
ROWS = [
    ("fanout-100", "Fan-out, 100 subscribers, 64 B, window 4", "deliveries/s",
     "deliveries_per_s", "/s", None),
    ("fanout-100-w16", "Fan-out, 100 subscribers, 64 B, window 16", "deliveries/s",
     "deliveries_per_s", "/s", None),
    ("fanout-1000", "Fan-out, 1,000 subscribers, 64 B, window 4", "deliveries/s",
     "deliveries_per_s", "/s", ("ratio>=", 4)),
    ("fanout-5000", "Fan-out, 5,000 subscribers, 64 B, window 4", "deliveries/s",
     "deliveries_per_s", "/s", ("ratio>=", 4)),
    ("fanout-1000-1k", "Fan-out, 1,000 subscribers, 1 KiB, window 4", "deliveries/s",
     "deliveries_per_s", "/s", None),
    ("manystates", "Many states, 1,000 x 4 clients, all writing, window 4", "deliveries/s",
     "deliveries_per_s", "/s", ("ratio>=", 3)),
    ("manystates", "", "updates/s", "updates_per_s", "/s", None),
    ("latency", "Latency, 1 writer at {rate} updates/s, 1,000 subscribers", "p50",
     "latency_us.p50", "ms", None),
    ("latency", "", "p99", "latency_us.p99", "ms", ("ratio<=", 0.25)),
    ("latency", "", "p99.9", "latency_us.p999", "ms", None),
    ("latency-busy", "Latency, 1 writer at {busy_rate} updates/s (two thirds of what the Node.js "
     "peer can do), 1,000 subscribers", "p50", "latency_us.p50", "ms", None),
    ("latency-busy", "", "p99", "latency_us.p99", "ms", ("ratio<=", 0.25)),
    ("latency-busy", "", "p99.9", "latency_us.p999", "ms", None),
    ("joinstorm", "Join storm, 10,000 clients, 500 handshakes at once",
     "time to the last join", "join_s", "s", ("ratio<", 1)),
    ("joinstorm", "", "5 updates reach all 10,000", "updates_reach_all", "bool", ("true", None)),
    ("joinstorm", "", "server RSS per idle joined client", "rss_per_client_kib", "KiB",
     ("max", 10)),
]


field = reportcluster.field


def load(path):
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records


class Cell:
    """The runs of one case on one server: their median, and whether they were correct."""

    def __init__(self, results):
        self.results = results
        self.ok = [r for r in results if r.get("ok")]

    def median(self, key):
        values = [field(r, key) for r in self.ok]
        values = [v for v in values if v is not None]
        if not values:
            return None
        if isinstance(values[0], bool):
            return all(values)
        return statistics.median(values)

    def spread(self, key):
        values = [field(r, key) for r in self.ok if field(r, key) is not None]
        return (min(values), max(values)) if values else None

    def first_error(self):
        for r in self.results:
            if not r.get("ok"):
                errors = r.get("errors") or []
                if r.get("scenario") == "joinstorm" and not errors and not r.get(
                        "updates_reach_all", True):
                    return "the updates did not reach every client"
                if errors:
                    return errors[0]
                if r.get("lost") or r.get("out_of_order"):
                    return "%s lost, %s out of order" % (r.get("lost"), r.get("out_of_order"))
                return "failed"
        return None


def cells(records, case, server, io_threads=None, any_io=True):
    results = [r["result"] for r in records if r["case"] == case
               and r["server_name"] == server and (any_io or r["io_threads"] == io_threads)]
    return Cell(results)


def number(value, unit):
    if value is None:
        return "n/a"
    if unit == "bool":
        return "yes" if value else "**no**"
    if unit == "/s":
        return format(int(round(value)), ",")
    if unit == "ms":
        return "%.2f ms" % (value / 1000.0) if value < 10000 else "%.1f ms" % (value / 1000.0)
    if unit == "s":
        return "%.2f s" % value
    if unit == "KiB":
        return "%.2f KiB" % value
    return str(value)


def target_text(target):
    if target is None:
        return ""
    kind, value = target
    if kind == "ratio>=":
        return "ratio >= %g" % value
    if kind == "ratio<=":
        return "ratio <= %g (1/%d)" % (value, round(1 / value))
    if kind == "ratio<":
        return "ratio < 1"
    if kind == "max":
        return "QStateSync <= %g KiB" % value
    return "QStateSync: yes"


def judge(target, ours, theirs, ratio):
    if target is None:
        return ""
    kind, value = target
    if kind == "max":
        return "n/a" if ours is None else ("met" if ours <= value else "**not met**")
    if kind == "true":
        return "n/a" if ours is None else ("met" if ours else "**not met**")
    if ratio is None:
        return "n/a"
    if kind == "ratio>=":
        met = ratio >= value
    elif kind == "ratio<=":
        met = ratio <= value
    else:
        met = ratio < 1
    return "met" if met else "**not met**"


def machine(args):
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            memory = "%.1f GiB" % (kib / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return [
        ("CPUs (nproc)", str(os.cpu_count())),
        ("CPU model", model),
        ("memory", memory),
        ("kernel", platform.release()),
        ("Qt", args.qt_version),
        ("Node.js", args.node_version),
        ("ws", args.ws_version),
        ("qstatesyncd", "%s, commit %s" % (args.qstatesyncd_version, args.commit)),
        ("date", datetime.date.today().isoformat()),
    ]


def plot(records, args):
    fanout = [(subscribers, *(cells(records, case, s).median("deliveries_per_s")
                              for s in SERVERS))
              for subscribers, case in ((100, "fanout-100"), (1000, "fanout-1000"),
                                        (5000, "fanout-5000"))]
    latency = [(label, *(cells(records, "latency", s).median(key) for s in SERVERS))
               for label, key in (("p50", "latency_us.p50"), ("p99", "latency_us.p99"),
                                  ("p99.9", "latency_us.p999"))]
    return benchplot.draw(fanout, latency, args.rate, args.plot, args.work_dir)


def main():
    parser = argparse.ArgumentParser()
    # --cluster-only: the results are of the cluster case alone; only its section (and
    # its line in Method) of the page is replaced, which needs fewer of the others.
    parser.add_argument("--cluster-only", action="store_true")
    parser.add_argument("--redis-version")
    cluster_names = ("results", "markdown", "commit", "warmup", "seconds", "runs", "io-threads")
    names = ("results", "profile", "markdown", "plot", "work-dir", "qt-version",
             "node-version", "ws-version", "qstatesyncd-version", "commit", "rate", "busy-rate",
             "warmup", "seconds", "runs", "io-threads")
    for name in names:
        parser.add_argument("--" + name)
    args = parser.parse_args()
    missing = [name for name in (cluster_names if args.cluster_only else names)
               if getattr(args, name.replace("-", "_")) is None]
    if missing:
        parser.error("missing: " + ", ".join("--" + name for name in missing))
    records = load(args.results)
    if args.cluster_only:
        reportcluster.update_markdown(args.markdown, records, args)
        return
    plot_problem = plot(records, args)
    with open(args.profile) as f:
        profile = f.read().strip()
    text = render(records, args, plot_problem, profile)
    with open(args.markdown, "w") as f:
        f.write(text)


def ratio_of(ours, theirs):
    if ours is None or theirs in (None, 0) or isinstance(ours, bool):
        return None
    return ours / theirs


def ratio_text(ratio):
    """A ratio as a table shows it: two decimals, or nothing when there is none."""
    return "" if ratio is None else "%.2f" % ratio


def relay_threads(records):
    threads = sorted({r["io_threads"] for r in records if r["server_name"] == RELAY})
    return ", ".join(str(t) for t in threads) if threads else None


def floor_text(target, theirs, floor):
    """For a latency target (at most a fraction of the Node.js peer's value): that value
    against the bare relay's, the least any server reached on this machine."""
    if target is None or target[0] != "ratio<=" or theirs is None or floor is None:
        return ""
    allowed = theirs * target[1]
    return "1/%d of Node.js: %s; floor: %s, %.2fx that" % (
        round(1 / target[1]), number(allowed, "ms"), number(floor, "ms"), floor / allowed)


def summary_table(records, args):
    with_relay = any(r["server_name"] == RELAY for r in records)
    header = "| Scenario | Measure | QStateSync | Node.js peer |"
    rule = "| --- | --- | ---: | ---: |"
    if with_relay:
        header += " Bare relay (floor) |"
        rule += " ---: |"
    header += " Ratio Q/N | Target | Met |"
    rule += " ---: | --- | --- |"
    if with_relay:
        header += " Target against the floor |"
        rule += " --- |"
    lines = [header, rule]
    for case, scenario, measure, key, unit, target in ROWS:
        ours_cell = cells(records, case, "qstatesyncd")
        theirs_cell = cells(records, case, "node")
        relay_cell = cells(records, case, RELAY)
        ours, theirs = ours_cell.median(key), theirs_cell.median(key)
        floor = relay_cell.median(key)
        ratio = ratio_of(ours, theirs)
        shown = []
        for cell, value in ((ours_cell, ours), (theirs_cell, theirs), (relay_cell, floor)):
            if cell is relay_cell and not cell.results:
                shown.append("")  # the relay runs in the latency cases only
            elif not cell.results:
                shown.append("not run")
            elif value is None:
                shown.append("**failed**")
            else:
                shown.append(number(value, unit))
        cells_text = [scenario.format(rate=args.rate, busy_rate=args.busy_rate), measure,
                      shown[0], shown[1]]
        if with_relay:
            cells_text.append(shown[2])
        cells_text += [ratio_text(ratio), target_text(target),
                       judge(target, ours, theirs, ratio)]
        if with_relay:
            cells_text.append(floor_text(target, theirs, floor))
        lines.append("| %s |" % " | ".join(cells_text))
    return lines


def floor_summary(records, args):
    """A sentence per latency case: the target against the relay's p99."""
    lines = []
    for case, rate in (("latency", args.rate), ("latency-busy", args.busy_rate)):
        theirs = cells(records, case, "node").median("latency_us.p99")
        floor = cells(records, case, RELAY).median("latency_us.p99")
        ours = cells(records, case, "qstatesyncd").median("latency_us.p99")
        if theirs is None or floor is None:
            continue
        allowed = theirs / 4
        text = ("At %s updates/s, a quarter of the Node.js peer's p99 is %s; the bare relay's "
                "p99 is %s" % (rate, number(allowed, "ms"), number(floor, "ms")))
        if floor > allowed:
            text += (", %.2f times the target: the target is below the floor by %s"
                     % (floor / allowed, number(floor - allowed, "ms")))
        else:
            text += ", within the target"
        if ours is not None:
            text += "; qstatesyncd's p99 is %.2f times the relay's" % (ours / floor)
        below = [name for name, value in (("qstatesyncd", ours), ("the Node.js peer", theirs))
                 if value is not None and value < floor]
        if below:
            text += (" (%s had a lower p99 than the relay in these runs: here the relay's "
                     "p99 is not a lower bound)" % " and ".join(below))
        lines.append("- " + text + ".")
    return lines


def failures(records):
    lines = []
    seen = set()
    for r in records:
        result = r["result"]
        if result.get("ok"):
            continue
        key = (r["case"], r["server_name"], r["io_threads"], r.get("state_threads"))
        if key in seen:
            continue
        seen.add(key)
        failed = [x["result"] for x in records
                  if (x["case"], x["server_name"], x["io_threads"], x.get("state_threads")) == key]
        bad = [x for x in failed if not x.get("ok")]
        lines.append("- %s, %s: %d of %d runs failed: %s" % (
            r["case"], r["server_name"], len(bad), len(failed),
            Cell(failed).first_error()))
    return lines


def detail_table(records):
    lines = ["| Case | Server | Correct runs | Deliveries/s (median, min-max) | Updates/s | "
             "p50 | p99 | p99.9 | Joined in | Server CPU | Loadgen CPU | Other CPU |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    cases = []
    for r in records:
        if r["case"] not in cases and r["case"] not in ("selfcheck", "fanout-1000-io",
                                                         "manystates-st", "statebench"):
            cases.append(r["case"])
    for case in cases:
        for server in SERVERS + (RELAY,):
            cell = cells(records, case, server)
            if not cell.results:
                continue
            spread = cell.spread("deliveries_per_s")
            deliveries = number(cell.median("deliveries_per_s"), "/s")
            if case == "joinstorm":
                deliveries, spread = "n/a", None  # see the join storm's own table
            if spread:
                deliveries += " (%s-%s)" % (number(spread[0], "/s"), number(spread[1], "/s"))
            lines.append("| %s | %s | %d of %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                case, RELAY_LABEL if server == RELAY else server, len(cell.ok), len(cell.results), deliveries,
                number(cell.median("updates_per_s"), "/s"),
                number(cell.median("latency_us.p50"), "ms"),
                number(cell.median("latency_us.p99"), "ms"),
                number(cell.median("latency_us.p999"), "ms"),
                number(cell.median("join_s"), "s"),
                cpu(cell.median("server_cpu")), cpu(cell.median("loadgen_cpu")),
                cpu(cell.median("other_cpu"))))
    return lines


def cpu(value):
    return "n/a" if value is None else "%.2f" % value


def join_storm_table(records):
    lines = ["| Server | Correct runs | Joined | Time to the last join | 5 updates reached all in | "
             "RSS before | RSS joined | RSS joined, idle | Per client |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for server in SERVERS:
        cell = cells(records, "joinstorm", server)
        if not cell.results:
            continue
        source = cell if cell.ok else Cell(cell.results[:1])
        values = source.ok if cell.ok else source.results

        def median(key):
            found = [field(r, key) for r in values if field(r, key) is not None]
            return statistics.median(found) if found else None

        def kib(value):
            return "n/a" if value is None or value < 0 else "%s KiB" % format(int(value), ",")

        joined = median("joined")
        lines.append("| %s | %d of %d | %s of %s | %s | %s | %s | %s | %s | %s |" % (
            server, len(cell.ok), len(cell.results),
            "n/a" if joined is None else format(int(joined), ","),
            format(int(median("clients") or 0), ","), number(median("join_s"), "s"),
            number(median("updates_s"), "s") if cell.ok else "n/a",
            kib(median("rss_before_kib")), kib(median("rss_joined_kib")),
            kib(median("rss_idle_kib")), number(median("rss_per_client_kib"), "KiB")))
    lines += ["", "A failed run shows its own figures: how many had joined when it gave up."]
    return lines


def disturbed_cases(records):
    found = []
    for r in records:
        key = (r["case"], r["server_name"], r["io_threads"], r.get("state_threads"))
        values = [x["result"].get("other_cpu") for x in records
                  if (x["case"], x["server_name"], x["io_threads"], x.get("state_threads")) == key
                  and x["result"].get("other_cpu") is not None]
        if values and statistics.median(values) >= 0.2:
            text = "%s on %s (%.2f)" % (r["case"], r["server_name"], statistics.median(values))
            if r["io_threads"] is not None and r["case"] == "fanout-1000-io":
                text = "%s --io-threads %s on %s (%.2f)" % (
                    r["case"], r["io_threads"], r["server_name"], statistics.median(values))
            if r.get("state_threads") is not None:
                text = "%s --state-threads %s on %s (%.2f)" % (
                    r["case"], r["state_threads"], r["server_name"], statistics.median(values))
            if text not in found:
                found.append(text)
    return found


def loadgen_peak(records):
    values = [r["result"].get("loadgen_cpu") for r in records
              if r["case"] != "selfcheck" and r["result"].get("loadgen_cpu") is not None]
    return max(values) if values else None


def machine_load(records):
    values = [r["result"].get("other_cpu") for r in records
              if r["result"].get("other_cpu") is not None]
    return statistics.median(values) if values else None


def io_threads_section(records):
    rows = [r for r in records if r["case"] == "fanout-1000-io"]
    if not rows:
        return ["qstatesyncd had no `--io-threads` option when these figures were taken (the",
                "runner passes it only when `qstatesyncd --help` mentions it), so there is no",
                "scaling table yet."]
    node = cells(records, "fanout-1000", "node").median("deliveries_per_s")
    lines = ["Fan-out to 1,000 subscribers, 64 B, window 4, qstatesyncd with `--io-threads N`",
             "(0: Qt's own sockets on the main thread). The ratio is to the Node.js peer's",
             "median in the same scenario of the main table.", "",
             "| --io-threads | Correct runs | Deliveries/s | Ratio to Node | p99 | Server CPU | "
             "Loadgen CPU | Other CPU |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for io in sorted({r["io_threads"] for r in rows}):
        cell = cells(records, "fanout-1000-io", "qstatesyncd", io, any_io=False)
        value = cell.median("deliveries_per_s")
        lines.append("| %s | %d of %d | %s | %s | %s | %s | %s | %s |" % (
            io, len(cell.ok), len(cell.results), number(value, "/s"),
            ratio_text(ratio_of(value, node)),
            number(cell.median("latency_us.p99"), "ms"), cpu(cell.median("server_cpu")),
            cpu(cell.median("loadgen_cpu")), cpu(cell.median("other_cpu"))))
    return lines


def state_threads_section(records):
    found = cells_by_state_threads(records, "manystates-st")
    if not found:
        return ["qstatesyncd had no `--state-threads` option when these figures were taken, so",
                "there is no scaling table yet."]
    node = cells(records, "manystates", "node").median("deliveries_per_s")
    lines = ["Many states (1,000 x 4 clients, all writing, 64 B, window 4), qstatesyncd with",
             "`--state-threads N` and the I/O threads of the main table. \"Server thread\" is",
             "the CPU of the server's own thread alone (`/proc/PID/task/PID`), in cores. The",
             "ratio is to the Node.js peer's median in the same scenario of the main table.", "",
             "| --state-threads | Correct runs | Deliveries/s | Ratio to Node | Server CPU | "
             "Server thread | Loadgen CPU | Other CPU |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for st in sorted(found):
        cell = found[st]
        value = cell.median("deliveries_per_s")
        lines.append("| %s | %d of %d | %s | %s | %s | %s | %s | %s |" % (
            st, len(cell.ok), len(cell.results), number(value, "/s"),
            ratio_text(ratio_of(value, node)), cpu(cell.median("server_cpu")),
            cpu(cell.median("server_main_thread_cpu")), cpu(cell.median("loadgen_cpu")),
            cpu(cell.median("other_cpu"))))
    lines += [""] + statebench_table(records)
    return lines


def cells_by_state_threads(records, case):
    """The runs of a case, by their --state-threads (or statebench's --threads)."""
    runs = {}
    for r in records:
        if r["case"] == case:
            runs.setdefault(r["state_threads"], []).append(r["result"])
    return {threads: Cell(results) for threads, results in runs.items()}


def statebench_table(records):
    found = cells_by_state_threads(records, "statebench")
    if not found:
        return ["The state threads alone were not measured in this run (qstatesync-statebench was",
                "not built)."]
    one = found[1].median("changes_per_s") if 1 in found else None
    lines = ["The state threads' work alone, without sockets or a load generator:",
             "`qstatesync-statebench` gives 1,000 states a batch of 4 changes of 64 B each,",
             "round after round; the batches are merged and encoded for v2 clients, with one",
             "acknowledgement each, on `--threads N` of the library's state threads (0: on the",
             "calling thread), and the calling thread adopts each new value, as the server's",
             "thread does. It checks every state's value and version at the end. The calling",
             "thread's own part is small (5 to 13% of the samples with 2 threads, perf), so the",
             "state threads have most of the cores to themselves: this is how their work scales",
             "when no other work competes for the cores. \"CPU\" is the process's, in cores.", "",
             "| Threads | Correct runs | Changes/s | Ratio to 1 thread | CPU |",
             "| ---: | --- | ---: | ---: | ---: |"]
    for threads in sorted(found):
        cell = found[threads]
        value = cell.median("changes_per_s")
        lines.append("| %s | %d of %d | %s | %s | %s |" % (
            threads, len(cell.ok), len(cell.results), number(value, "/s"),
            ratio_text(ratio_of(value, one)), cpu(cell.median("cpu"))))
    failed = [c.first_error() for c in found.values() if len(c.ok) < len(c.results)]
    if failed:
        lines += ["", "A run failed: %s." % failed[0]]
    return lines


def multicore_summary(records):
    """The target without a ratio to Node.js: more than one core where the work allows."""
    lines = []
    io = {}
    for r in records:
        if r["case"] == "fanout-1000-io" and r["io_threads"] not in io:
            cell = cells(records, "fanout-1000-io", "qstatesyncd", r["io_threads"], any_io=False)
            io[r["io_threads"]] = cell
    if len(io) >= 2:
        # 0 is Qt's own sockets, another code path: the scaling is from 1 I/O thread up.
        threaded = sorted(c for c in io if c)
        counts = threaded if len(threaded) >= 2 else sorted(io)
        low, high = io[counts[0]], io[counts[-1]]
        lo, hi = low.median("deliveries_per_s"), high.median("deliveries_per_s")
        if lo and hi:
            lines.append("- A hot state's fan-out over I/O threads (fan-out, 1,000 subscribers): "
                         "%s deliveries/s with `--io-threads %s`, %s with %s, %.2f times as many; "
                         "the server used %s and %s cores." % (
                             number(lo, "/s"), counts[0], number(hi, "/s"), counts[-1], hi / lo,
                             cpu(low.median("server_cpu")), cpu(high.median("server_cpu"))))
    st = cells_by_state_threads(records, "manystates-st")
    if 0 in st and len(st) >= 2:
        most = max(st)
        without, with_ = st[0], st[most]
        lo, hi = without.median("deliveries_per_s"), with_.median("deliveries_per_s")
        if lo and hi:
            verdict = ("the hand-over costs more than the threads gain on these %d cores, "
                       "which the server and the load generator keep busy already"
                       % os.cpu_count() if hi < lo else "the threads gain")
            lines.append("- Many states over state threads: %s deliveries/s without, %s with "
                         "`--state-threads %s`, %.2f times as many; the server's own thread "
                         "went from %s to %s cores and the whole server from %s to %s: %s "
                         "(see State threads and Profile)." % (
                             number(lo, "/s"), number(hi, "/s"), most, hi / lo,
                             cpu(without.median("server_main_thread_cpu")),
                             cpu(with_.median("server_main_thread_cpu")),
                             cpu(without.median("server_cpu")), cpu(with_.median("server_cpu")),
                             verdict))
    bench = cells_by_state_threads(records, "statebench")
    if 1 in bench:
        most = max(bench)
        one, top = bench[1].median("changes_per_s"), bench[most].median("changes_per_s")
        if one and top and most > 1:
            lines.append("- The state threads' own work, alone (qstatesync-statebench, no sockets): "
                         "%s changes/s on 1 thread, %s on %s, %.2f times as many." % (
                             number(one, "/s"), number(top, "/s"), most, top / one))
    if lines:
        lines.insert(0, "More than one core (a target with no ratio to Node.js):")
        lines.insert(1, "")
    return lines


def render(records, args, plot_problem, profile):
    selfcheck = cells(records, "selfcheck", "loadgen")
    frames = selfcheck.median("frames_per_s")
    selfcheck_cpu = selfcheck.median("loadgen_cpu")
    io_note = ("qstatesyncd ran with `--io-threads %s`." % args.io_threads
               if args.io_threads != "null" else
               "qstatesyncd had no `--io-threads` option: it ran as it is.")
    out = []
    add = out.append
    add("# Benchmarks")
    add("")
    add("<!-- Generated by ./dev.sh bench (benchmarks/run.sh, benchmarks/report.py): do not")
    add("     edit by hand. The Profile section is benchmarks/profile.md. -->")
    add("")
    add("qstatesyncd against a Node.js server of the same v1 protocol (`benchmarks/node/server.js`,")
    add("on the `ws` package, standing in for the JavaScript server-state-sync), measured by the")
    add("same load generator (`qstatesync-loadgen`) in the same run, on the machine below. Each")
    add("figure is the median of %s runs; a ratio is QStateSync's median over the Node.js" % args.runs)
    add("peer's. %s" % io_note)
    threads = relay_threads(records)
    if threads is not None:
        add("")
        add("In the latency cases a third server ran too: the load generator's bare relay")
        add("(`qstatesync-loadgen relay --threads %s`), which does nothing per delivery but one" % threads)
        add("`send()` (see Method). Its latency is the floor this machine sets under any server")
        add("in those cases.")
    add("")
    add("## Summary")
    add("")
    out.extend(summary_table(records, args))
    add("")
    floor = floor_summary(records, args)
    if floor:
        add("The latency target against the floor:")
        add("")
        out.extend(floor)
        add("")
    cores = multicore_summary(records)
    if cores:
        out.extend(cores)
        add("")
    busy = machine_load(records)
    disturbed = disturbed_cases(records)
    if disturbed and (busy is None or busy < 0.2):
        add("Other work on the machine used 0.2 cores or more (median of the runs) while these")
        add("cases measured, which lowers and scatters their figures: %s." % ", ".join(disturbed))
        add("")
    if busy is not None and busy >= 0.2:
        add("**The machine was not quiet**: while these runs measured, other work used a median")
        add("of %.2f of its %d cores (\"Other CPU\" below). The servers and the load generator" % (busy, os.cpu_count()))
        add("shared what was left, so these figures are lower and more scattered than on an idle")
        add("machine. The servers ran one after the other under that load, but its share varied from")
        add("run to run: compare the min-max spreads before reading much into a ratio.")
        add("")
    problems = failures(records)
    if problems:
        add("Runs that failed (lost or misordered updates, refused or dropped clients, time-outs)")
        add("do not count in the medians:")
        add("")
        out.extend(problems)
        add("")
    if plot_problem:
        add("(%s.)" % plot_problem)
    else:
        add("![Deliveries per second against subscribers, and latency percentiles]"
            "(%s)" % os.path.relpath(args.plot, os.path.dirname(os.path.abspath(args.markdown))))
    add("")
    add("## Method")
    add("")
    add("- **Load generator** (`benchmarks/loadgen`, C++17, no Qt): non-blocking sockets on one")
    add("  epoll instance, one thread, a 512 KiB read buffer in which frames are parsed in place,")
    add("  writes batched per loop turn. It is a plain v1 client: it asks for no subprotocol,")
    add("  masks its frames, answers pings, and handles server frames of any length and in")
    add("  fragments. Its clients connect with at most 500 handshakes outstanding.")
    add("- **Updates**: `{\"type\":3,\"data\":{\"updates\":{\"v\":STAMP}}}` where `STAMP` is a")
    add("  string of exactly the payload size (64 B or 1 KiB) holding the writer's number, its")
    add("  sequence number and the CLOCK_MONOTONIC time the update was sent (for the paced")
    add("  writer: the time it was due, so that a late send counts as latency). Both servers")
    add("  broadcast every applied update to every client of the state, the sender included.")
    add("- **Delivery, latency, loss**: every STATE_UPDATED a client receives is a delivery; its")
    add("  latency is the time from the stamp to its arrival in the same process. Every client")
    add("  checks that each writer's sequence numbers arrive complete and in order; after the")
    add("  writers stop, the run waits until every client has every update. Any gap, reordering,")
    add("  refused join, error answer or dropped connection makes the run fail.")
    add("- **Window**: a writer sends a new update whenever fewer than W of its updates have come")
    add("  back to it (its echo), so the load follows what the server can do.")
    add("- **Runs**: a fresh server per run, started the same way for all (port 0, the")
    add("  listening line read from its output), the servers one after the other (their order")
    add("  is reversed every other run); %s s of warm-up, then %s s measured. Connection" % (args.warmup, args.seconds))
    add("  set-up is not in the measured time except in the join storm. qstatesyncd keeps its")
    add("  states in memory (`storage.type` \"memory\"), as the Node.js peer does; its SQLite")
    add("  storage is measured in [deployment.md](deployment.md).")
    add("- **Scenarios**: *fan-out*: 1 writer and S subscribers of one state; deliveries/s are")
    add("  the updates the subscribers received per second. *Many states*: 1,000 states with 4")
    add("  clients each, every client a writer with its own window; deliveries/s count every")
    add("  client's receptions (its own echoes included), updates/s the writers' echoes.")
    add("  *Latency*: one writer at a fixed %s updates/s, and again at %s (the same offered" % (args.rate, args.busy_rate))
    add("  load for both; the second is about two thirds of what the Node.js peer can do,")
    add("  75-80 updates/s to 1,000 subscribers) to 1,000 subscribers. Below that, both servers spend their")
    add("  time in the kernel's per-socket cost of a loopback send, which no server avoids.")
    add("  *Join storm*: 10,000 clients connect and join one state; the time")
    add("  runs from the first connect to the last join's answer; then one of them sends 5")
    add("  updates, which must reach all 10,000; the server's VmRSS is read before the clients")
    add("  connect and after they all joined, received the updates and stayed idle for 0.5 s.")
    add("- **Bare relay (floor)**: `qstatesync-loadgen relay` (`benchmarks/loadgen/relay.h`),")
    add("  run in the two latency cases only, with as many threads as qstatesyncd has I/O")
    add("  threads. Each thread has its own epoll set and an equal share of the connections")
    add("  (the first thread accepts them and hands them out in turn). It keeps no value and")
    add("  parses no JSON: it finds a message's type and state by scanning the text, answers a")
    add("  join with an empty state, and frames an update's text once, unchanged (a v1")
    add("  UPDATE_STATE is already the STATE_UPDATED every client gets). The thread that reads")
    add("  the update hands the frame to the other threads, and each sends it to its own")
    add("  clients of the state, the sender included, one `send()` per client, as qstatesyncd's")
    add("  I/O threads do. What a socket does not take waits in a buffer of that connection,")
    add("  so nothing is lost or reordered (the load generator checks it as for the servers).")
    add("  Each delivery then costs one system call and the kernel's work for one loopback TCP")
    add("  segment, sending and receiving, most of the cost here (see Profile), and nothing")
    add("  else: its latency, measured with the same load generator on the same cores, is the")
    add("  floor for any server that sends every client its own frame on this machine.")
    add("- **Server configuration**: both servers read the same file (the bare relay takes")
    add("  none: any state can be joined). qstatesyncd's limits that would get in the way are")
    add("  off: `maxClientsPerState` 0, `maxClients` 0, `updateRate` 0, `maxPendingHandshakes`")
    add("  0 (0 is \"no limit\" for each); everything else is the default")
    add("  (logging included). The file lists the states (`fanout`, `latency`, `storm`, `s0` to")
    add("  `s999`); the Node.js peer creates exactly those from its `states` array.")
    add("- **CPU**: \"Server CPU\" and \"Loadgen CPU\" are CPU seconds per second of the measured")
    add("  window (1.00 = one core), from /proc/PID/stat and getrusage(). On loopback part of the")
    add("  kernel's TCP work of one side is charged to the other. \"Other CPU\" is what the rest")
    add("  of the machine used meanwhile (from /proc/stat): other processes, and kernel work")
    add("  charged to nobody. The machine is shared: a run that competed with other work")
    add("  shows it there, and such runs scatter (see the min-max of the deliveries).")
    out.extend(reportcluster.method_bullet())
    add("")
    add("## Machine")
    add("")
    add("| | |")
    add("| --- | --- |")
    for name, value in machine(args):
        add("| %s | %s |" % (name, value))
    add("")
    add("The load generator and the server share the machine's %s cores: what one uses the" % os.cpu_count())
    add("other cannot. A server that used both cores would be held back by the load generator's")
    add("share; the CPU columns below show where the time went.")
    peak = loadgen_peak(records)
    if peak is not None:
        add("")
        add("The load generator used at most %.2f of a core in any run. It costs more per" % peak)
        add("delivery when the server writes every frame with a system call of its own (the Node.js")
        add("peer does: one `writev` per delivery under strace), since each then arrives as its own")
        add("TCP segment, to be read and acknowledged on its own, than when several frames for one")
        add("connection leave together, as they do from qstatesyncd once they queue up.")
    add("")
    add("## All results")
    add("")
    out.extend(detail_table(records))
    add("")
    add("## Join storm")
    add("")
    out.extend(join_storm_table(records))
    add("")
    add("## qstatesyncd's I/O threads")
    add("")
    out.extend(io_threads_section(records))
    add("")
    add("## State threads")
    add("")
    out.extend(state_threads_section(records))
    add("")
    out.extend(reportcluster.section(records, args))
    add("")
    add("## The load generator's own capacity")
    add("")
    if frames is not None:
        add("`qstatesync-loadgen selfcheck` connects 100 clients to a server thread built into the")
        add("tool that writes ready-made frames (small STATE_UPDATED messages, with 16-bit and")
        add("64-bit lengths, a fragmented message and pings among them) as fast as the sockets take")
        add("them. The load generator's one thread received **%s frames/s** (checking every" % number(frames, "/s"))
        add("sequence number), using %s of a core: far more than any server above delivered." % cpu(selfcheck_cpu))
    else:
        add("The self-check failed: %s." % (selfcheck.first_error() or "no result"))
    add("")
    add(profile)
    add("")
    add("## Reproducing")
    add("")
    add("`./dev.sh bench` builds build/ in Release, runs `benchmarks/run.sh` (every scenario")
    add("against both servers, %s runs) and writes this page and its plot. The raw results are" % args.runs)
    add("`build/benchmarks/results/results.jsonl`, with each server's and the load generator's log")
    add("beside them. `QSTATESYNC_BENCH_RUNS`, `QSTATESYNC_BENCH_SECONDS`, `QSTATESYNC_BENCH_RATE` and")
    add("`QSTATESYNC_BENCH_ONLY` (a regex of case names) change the run;")
    add("`QSTATESYNC_BENCH_CLUSTER_ONLY=1` runs the cluster case alone and rewrites only its")
    add("section. `qstatesync-loadgen --help` lists the scenarios and options for measuring any")
    add("v1 server by hand.")
    add("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
