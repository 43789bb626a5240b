#!/usr/bin/env python3
# Copyright (C) 2026 The QStateSync Authors.
# SPDX-License-Identifier: GPL-3.0-only
"""The benchmarks' plot, drawn by Debian's gnuplot (gnuplot-nox): deliveries/s against
subscribers and the latency percentiles, both servers side by side. Used by report.py."""

import os
import shutil
import subprocess


def gnuplot_terminal():
    try:
        out = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True,
                             text=True, timeout=30)
        text = out.stdout + out.stderr
    except (OSError, subprocess.SubprocessError):
        return None
    if "pngcairo" in text:
        return "pngcairo size 1200,480 font 'DejaVu Sans,10'"
    if " png " in text or "\npng" in text:
        return "png size 1200,480"
    return None


def _value(value, scale=1.0, decimals=0):
    return "NaN" if value is None else "%.*f" % (decimals, value * scale)


def draw(fanout_rows, latency_rows, rate, output, work_dir):
    """fanout_rows: (subscribers, qstatesyncd, node) deliveries/s; latency_rows: (label,
    qstatesyncd, node) in microseconds. None is a missing value. Returns None when the
    plot was drawn, else why not."""
    terminal = gnuplot_terminal()
    if not shutil.which("gnuplot") or terminal is None:
        return "gnuplot (with a PNG terminal) was not found: no plot"
    panels = []
    if any(q is not None or n is not None for _, q, n in fanout_rows):
        fanout = os.path.join(work_dir, "plot-fanout.dat")
        with open(fanout, "w") as f:
            f.write("# subscribers qstatesyncd node\n")
            for subscribers, q, n in fanout_rows:
                f.write("%d %s %s\n" % (subscribers, _value(q), _value(n)))
        panels.append(FANOUT_PANEL % fanout)
    if any(q is not None or n is not None for _, q, n in latency_rows):
        latency = os.path.join(work_dir, "plot-latency.dat")
        with open(latency, "w") as f:
            f.write("# percentile qstatesyncd_ms node_ms\n")
            for label, q, n in latency_rows:
                f.write("%s %s %s\n" % (label, _value(q, 0.001, 3), _value(n, 0.001, 3)))
        panels.append(LATENCY_PANEL % (rate, latency))
    if not panels:
        return "no fan-out or latency results to plot"
    script = os.path.join(work_dir, "plot.gp")
    with open(script, "w") as f:
        f.write("set terminal %s\nset output '%s'\nset multiplot layout 1,%d\n%s"
                "unset multiplot\n" % (terminal, output, len(panels), "".join(panels)))
    result = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if result.returncode != 0:
        return "gnuplot failed: " + result.stderr.strip()[:300]
    return None


FANOUT_PANEL = """set title 'Fan-out, 64 B updates, window 4'
set xlabel 'subscribers'
set ylabel 'deliveries per second'
set logscale x
set xrange [70:7000]
set yrange [0:*]
set xtics (100, 1000, 5000)
set format y '%%.0s%%c'
set grid
set key top right
plot '%s' using 1:2 with linespoints lw 2 pt 7 title 'QStateSync (qstatesyncd)', \\
     '' using 1:3 with linespoints lw 2 pt 5 title 'Node.js + ws peer'
unset logscale x
unset xtics
set xtics
set autoscale x
set autoscale y
set format y '%%g'
"""

LATENCY_PANEL = """set title 'Latency at %s updates/s to 1,000 subscribers'
set xlabel 'percentile'
set ylabel 'milliseconds (log scale)'
set grid
set key top left
set logscale y
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
plot '%s' using 2:xtic(1) title 'QStateSync (qstatesyncd)', '' using 3 title 'Node.js + ws peer'
"""
