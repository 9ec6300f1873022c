#!/usr/bin/env python3
"""Reads Prometheus text from stdin and prints count, mean, p50 and p99 of one histogram,
per value of one label (interpolated within buckets, as PromQL's histogram_quantile does).

    curl -s http://127.0.0.1:4104/metrics | bench/quantiles.py live_alert_delay_seconds stage
"""
import re
import sys
from collections import defaultdict

name, label = sys.argv[1], sys.argv[2]
buckets = defaultdict(list)
sums, counts = {}, {}
line_re = re.compile(r'^(\w+)\{([^}]*)\} (\S+)$')
for line in sys.stdin:
    match = line_re.match(line.strip())
    if not match:
        continue
    metric, labels, value = match.groups()
    labels = dict(re.findall(r'(\w+)="([^"]*)"', labels))
    key = labels.get(label, "")
    if metric == f"{name}_bucket":
        le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
        buckets[key].append((le, float(value)))
    elif metric == f"{name}_sum":
        sums[key] = float(value)
    elif metric == f"{name}_count":
        counts[key] = float(value)


def quantile(q, series):
    series = sorted(series)
    total = series[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    lower_le, lower_count = 0.0, 0.0
    for le, count in series:
        if count >= rank:
            if le == float("inf"):
                return lower_le
            if count == lower_count:
                return le
            return lower_le + (le - lower_le) * (rank - lower_count) / (count - lower_count)
        lower_le, lower_count = le, count
    return lower_le


for key in sorted(buckets):
    count = counts.get(key, 0)
    if not count:
        continue
    mean = sums.get(key, 0) / count * 1000 if count else float("nan")
    print(
        f"{label}={key}: {count:.0f} observed, mean {mean:.1f} ms, "
        f"p50 {quantile(0.5, buckets[key]) * 1000:.1f} ms, p99 {quantile(0.99, buckets[key]) * 1000:.1f} ms"
    )
