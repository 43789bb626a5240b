# Copyright (C) 2026 The QStateSync Authors.
# SPDX-License-Identifier: GPL-3.0-only
"""The Cluster section of doc/benchmarks.md, for report.py: fan-out through qstatesyncd
nodes that share the state through Redis (the runner's cluster case, benchmarks/cluster.sh).

It is written with the rest of the page, or on its own (run.sh with
QSTATESYNC_BENCH_CLUSTER_ONLY): then only this section and its line in Method are replaced
in the page as it is.
"""

import datetime
import os
import statistics

CASE = "cluster-1000"
HEADING = "## Cluster"
METHOD_BULLET = "- **Cluster**:"
# The heading the section goes before, when the page has none yet (the first found).
BEFORE = ("## The load generator's own capacity", "## Profile", "## Reproducing")
SETUPS = (
    ("memory", "1 node, in memory (reference)"),
    ("redis-1node", "1 node, Redis"),
    ("redis-2nodes", "2 nodes, Redis"),
)


def field(result, key):
    """The value at a dotted key of a result ("server.cpu"), or None."""
    value = result
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _median(results, key):
    values = [field(r, key) for r in results]
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _spread(results, key):
    values = [field(r, key) for r in results if field(r, key) is not None]
    return (min(values), max(values)) if values else None


def _rate(value):
    return "n/a" if value is None else format(int(round(value)), ",")


def _ms(us):
    if us is None:
        return "n/a"
    return "%.2f ms" % (us / 1000.0) if us < 10000 else "%.1f ms" % (us / 1000.0)


def _cpu(value):
    return "n/a" if value is None else "%.2f" % value


def _ratio(a, b):
    return None if a is None or not b else a / b


def _runs(records, setup):
    """All results of a set-up, and the correct ones."""
    results = [r["result"] for r in records if r["case"] == CASE and r["server_name"] == setup]
    return results, [r for r in results if r.get("ok")]


def has_results(records):
    return any(r["case"] == CASE for r in records)


def method_bullet():
    return [
        METHOD_BULLET + " fan-out to 1,000 subscribers, 64 B, window 4, through qstatesyncd",
        "  nodes with `--storage redis` that share the state through one Redis server, started",
        "  for the case on a free port of 127.0.0.1 with nothing written to disk (`--save ''",
        "  --appendonly no`, its own temporary directory) and stopped at its end; its keys are",
        "  flushed before each run. One node; two nodes, the load generator's writer and every",
        "  other subscriber on the first, the rest on the second (`qstatesync-loadgen --ports`);",
        "  and, for reference, one node in memory. Each node is started as in the main table",
        "  (the same limits and I/O threads); the set-ups take turns like the servers above.",
        "  Their CPU is the nodes' and Redis' together.",
    ]


def _sentences(records):
    """What the figures show, from the figures."""
    medians = {}
    spreads = {}
    for setup, _ in SETUPS:
        _, ok = _runs(records, setup)
        medians[setup] = _median(ok, "deliveries_per_s")
        spreads[setup] = _spread(ok, "deliveries_per_s")
    two, one, memory = medians["redis-2nodes"], medians["redis-1node"], medians["memory"]
    text = []
    cores = os.cpu_count()
    text.append(
        "This machine has %d cores, and the nodes, Redis and the load generator all run on "
        "them: a second node brings no core of its own, it shares the ones the first node, "
        "Redis and the load generator already use. So the two-node figure shows what "
        "splitting the subscribers over two processes does on shared cores, not how a "
        "cluster scales over machines; that would need the nodes, Redis and the load "
        "generator on machines of their own, which was not measured." % cores)
    _, two_ok = _runs(records, "redis-2nodes")
    serving, loadgen = _median(two_ok, "server_cpu"), _median(two_ok, "loadgen_cpu")
    if serving is not None and loadgen is not None:
        text.append(
            "In the two-node runs the nodes and Redis used %.2f cores and the load generator "
            "%.2f (medians): %.2f of the %d together." % (serving, loadgen, serving + loadgen,
                                                          cores))
    ratio = _ratio(two, one)
    if ratio is not None:
        a, b = spreads["redis-2nodes"], spreads["redis-1node"]
        if a and b and a[0] <= b[1] and b[0] <= a[1]:
            text.append(
                "Here two nodes on Redis made no clear difference to the deliveries per "
                "second: their median is %.2f times one node's, and the min-max ranges of "
                "their runs overlap, so the difference is within this machine's run-to-run "
                "scatter." % ratio)
        elif ratio >= 1:
            text.append("Here two nodes on Redis made %.2f times as many deliveries per "
                        "second as one node, beyond the scatter of the runs." % ratio)
        else:
            text.append("Here two nodes on Redis made fewer deliveries per second than one "
                        "node (%.2f times), beyond the scatter of the runs." % ratio)
    cost = _ratio(one, memory)
    if cost is not None:
        text.append(
            "One node on Redis delivered %.2f times what the same node delivered with its "
            "state in memory. With Redis a node broadcasts a change, and acknowledges it to "
            "its writer, only once Redis has applied and published it (see "
            "[deployment.md](deployment.md)), so the writer's 4 updates in flight each wait "
            "for that round trip as well." % cost)
    return text


def _wrap(text, width=92):
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = word if not line else line + " " + word
    if line:
        lines.append(line)
    return lines


def section(records, args, alone=False):
    """The section's lines, its heading included."""
    lines = [HEADING, ""]
    if not has_results(records):
        lines.append("The cluster case did not run (it needs redis-server; see Reproducing).")
        return lines
    runs = max([r["run"] for r in records if r["case"] == CASE] or [0])
    redis = getattr(args, "redis_version", None) or "unknown"
    io = getattr(args, "io_threads", "null")
    lines += _wrap(
        "Fan-out to 1,000 subscribers, 64 B payload, window 4 (as `fanout-1000` above), "
        "through qstatesyncd nodes sharing the state through one Redis server (redis-server "
        "%s, on this machine, writing nothing to disk)%s. With two nodes the writer and 500 "
        "subscribers are on the first node and 500 subscribers on the second; every node "
        "receives each change once from Redis and sends it to its own subscribers. Each "
        "figure is the median of %d run%s; \"Serving CPU\" is the nodes' and Redis' "
        "together, in cores."
        % (redis, ", each node with `--io-threads %s`" % io if io not in (None, "null") else "",
           runs, "" if runs == 1 else "s"))
    if alone:
        lines.append("")
        lines += _wrap(
            "This case was measured on its own (`QSTATESYNC_BENCH_CLUSTER_ONLY=1 "
            "benchmarks/run.sh`, commit %s, %s), not in the same run as the rest of this "
            "page." % (args.commit, datetime.date.today().isoformat()))
    lines += ["", "| Set-up | Correct runs | Deliveries/s (median, min-max) | Ratio to 1 node, "
              "Redis | p50 | p99 | p99.9 | Serving CPU | Loadgen CPU | Other CPU |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    _, one_ok = _runs(records, "redis-1node")
    one = _median(one_ok, "deliveries_per_s")
    for setup, label in SETUPS:
        results, ok = _runs(records, setup)
        if not results:
            lines.append("| %s | not run | | | | | | | | |" % label)
            continue
        value = _median(ok, "deliveries_per_s")
        spread = _spread(ok, "deliveries_per_s")
        deliveries = _rate(value) if ok else "**failed**"
        if spread:
            deliveries += " (%s-%s)" % (_rate(spread[0]), _rate(spread[1]))
        ratio = _ratio(value, one)
        lines.append("| %s | %d of %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, len(ok), len(results), deliveries, "" if ratio is None else "%.2f" % ratio,
            _ms(_median(ok, "latency_us.p50")), _ms(_median(ok, "latency_us.p99")),
            _ms(_median(ok, "latency_us.p999")), _cpu(_median(ok, "server_cpu")),
            _cpu(_median(ok, "loadgen_cpu")), _cpu(_median(ok, "other_cpu"))))
    _, two_ok = _runs(records, "redis-2nodes")
    two = _median(two_ok, "deliveries_per_s")
    if two is not None and one:
        lines += ["", "Two nodes / one node (both on Redis): deliveries/s **%.2f**, p50 %.2f, "
                  "p99 %.2f." % (two / one,
                                 _ratio(_median(two_ok, "latency_us.p50"),
                                        _median(one_ok, "latency_us.p50")) or 0,
                                 _ratio(_median(two_ok, "latency_us.p99"),
                                        _median(one_ok, "latency_us.p99")) or 0)]
    per_server = [r.get("per_server") for r in two_ok if r.get("per_server")]
    if per_server:
        lines += ["", "The two nodes' subscribers apart (medians of the same runs):", "",
                  "| Node | Subscribers | Deliveries/s | p50 | p99 |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for index, name in enumerate(("first (the writer's)", "second")):
            entries = [p[index] for p in per_server if len(p) > index]
            if not entries:
                continue
            lines.append("| %s | %s | %s | %s | %s |" % (
                name, entries[0].get("subscribers"), _rate(_median(entries, "deliveries_per_s")),
                _ms(_median(entries, "latency_us.p50")), _ms(_median(entries, "latency_us.p99"))))
    failed = [(setup, r) for setup, _ in SETUPS for r in _runs(records, setup)[0]
              if not r.get("ok")]
    if failed:
        lines += ["", "Failed runs (not in the medians): " + "; ".join(
            "%s: %s" % (setup, (r.get("errors") or ["lost or misordered updates"])[0][:160])
            for setup, r in failed) + "."]
    lines.append("")
    for sentence in _sentences(records):
        lines += _wrap(sentence)
        lines.append("")
    disturbed = []
    for setup, label in SETUPS:
        results = _runs(records, setup)[0]
        count = sum(1 for r in results if (r.get("other_cpu") or 0) >= 0.2)
        if count:
            disturbed.append("%s in %d of %d" % (label, count, len(results)))
    if disturbed:
        lines += _wrap(
            "Other work on the machine used 0.2 cores or more (\"Other CPU\") in some runs: "
            "%s. Such runs deliver less and later (the low ends of the min-max ranges); a "
            "median stands for a quiet machine only while fewer than half of its runs are "
            "disturbed." % "; ".join(disturbed))
        lines.append("")
    lines += _wrap(
        "To measure this case alone: `QSTATESYNC_BENCH_CLUSTER_ONLY=1 benchmarks/run.sh` "
        "after a Release build (`./dev.sh bench` makes one); it rewrites only this section "
        "and its line in Method.")
    return lines


def _replace_method_bullet(lines):
    try:
        start = lines.index("## Method")
    except ValueError:
        return lines
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    body = lines[start + 1:end]
    kept, skipping = [], False
    for line in body:
        if line.startswith(METHOD_BULLET):
            skipping = True
            continue
        if skipping and line.startswith("  "):
            continue
        skipping = False
        kept.append(line)
    last = max((i for i, line in enumerate(kept) if line.strip()), default=-1)
    kept[last + 1:last + 1] = method_bullet()
    return lines[:start + 1] + kept + lines[end:]


def update_markdown(path, records, args):
    """Replaces the Cluster section and its Method line in the page at `path`, or adds
    them; the rest of the page stays as it is."""
    with open(path) as f:
        lines = f.read().split("\n")
    new = section(records, args, alone=True) + [""]
    if HEADING in lines:
        start = lines.index(HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        lines[start:end] = new
    else:
        at = next((lines.index(h) for h in BEFORE if h in lines), len(lines))
        lines[at:at] = new
    lines = _replace_method_bullet(lines)
    with open(path, "w") as f:
        f.write("\n".join(lines))
