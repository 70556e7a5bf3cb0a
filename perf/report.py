#!/usr/bin/env python3
"""Summarise perf-suite result lines (WORKLOADS.md) written by scripts/bench.sh.

Input: a raw file of result lines "<TAG> <runtime> key=value ...", one per
workload result per process run (other lines are ignored). Lines with the
same tag, runtime and setup keys are runs of one configuration; for each
measurement the median, min, max and spread +-(max-min)/2/median are kept.

Output: the median table (stdout), <out>/latest.json, and gnuplot data files
in <out>/data/ for perf/plot/*.gp. Each workload row is held against its
limit probe (the "x limit" column: how many times the floor it costs, >= 1
unless the probe and the workload measured different machine moods) and
against the target of issue 4.

usage: report.py RAW OUTDIR [--runs N] [--quick] [--peers]
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# Keys that describe a run's setup rather than measure it.
SETUP = {"n", "ring", "shards", "placement", "batch", "msgs", "hops", "nodes", "idle",
         "mode", "publish", "window", "msg_bytes", "chunk", "sched", "keyed"}


def parse(path):
    """{(tag, runtime, setup tuple): {metric: [(run, value)]}} in first-seen order.
    bench.sh writes "# run K" before the lines of its K-th round."""
    groups = {}
    run = 0
    with open(path) as f:
        for line in f:
            words = line.split()
            if len(words) == 3 and words[:2] == ["#", "run"]:
                run = int(words[2])
                continue
            if len(words) < 3 or "=" in words[0] or "=" in words[1]:
                continue
            kv = dict(w.split("=", 1) for w in words[2:] if "=" in w)
            setup = tuple(sorted((k, v) for k, v in kv.items() if k in SETUP))
            metrics = groups.setdefault((words[0], words[1], setup), {})
            for k, v in kv.items():
                if k in SETUP:
                    continue
                try:
                    metrics.setdefault(k, []).append((run, float(v)))
                except ValueError:
                    pass
    return groups


def summary(pairs):
    values = [v for _, v in pairs]
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    return {"median": med, "min": lo, "max": hi, "runs": len(values),
            "spread_pct": 100.0 * (hi - lo) / 2 / med if med else 0.0, "values": values,
            # Per round, when each round has one value (bench.sh's "# run K" markers).
            "by_run": dict(pairs) if len({r for r, _ in pairs}) == len(pairs) else {}}


def find(groups, tag, runtime, match, metric):
    """The summary of `metric` for the first group of tag/runtime whose setup contains match."""
    for (t, r, setup), metrics in groups.items():
        s = dict(setup)
        if t == tag and r == runtime and all(s.get(k) == v for k, v in match.items()):
            if metric in metrics:
                return summary(metrics[metric])
    return None


# Limits the workloads are held against: (label, tag, match, metric, factor).
LIMITS = {
    "L1": ("L1 ring op", "L1", {}, "ns_per_op", 1),
    "2L1": ("2 x L1 ring op", "L1", {}, "ns_per_op", 2),
    "L2oneway": ("L2 one-way p50", "L2", {"mode": "pingpong"}, "oneway_p50_ns", 1),
    "L2rtt": ("L2 round trip p50", "L2", {"mode": "pingpong"}, "p50_ns", 1),
    "L2rate": ("L2 stream /32", "L2", {"mode": "stream", "publish": "32"}, "rate", 1),
    "L3wake": ("L3 eventfd wake", "L3", {"mode": "eventfd"}, "oneway_p50_ns", 1),
    "L4stream": ("L4 TCP stream", "L4", {"mode": "tcp-stream"}, "gb_per_s", 1),
    "L4rr": ("L4 TCP 64 B round trip p50", "L4", {"mode": "tcp-rr"}, "p50_ns", 1),
}

# Workload rows: (label, tag, match, metric, unit, better, limit, target text, check(v, ratio, g)).
# `better` is "low" for costs and "high" for rates; ratio = cost / floor either way.
MiB64 = 64 * 1024


def aux(g, tag, match, metric):
    s = find(g, tag, "casty", match, metric)
    return s["median"] if s else None


ROWS = [
    ("W1 ping-pong same shard", "W1", {"placement": "same-shard"}, "ns_per_msg", "ns", "low",
     "L1", "<= 10 ns, <= 5x L1", lambda v, r, g: v <= 10 and (r is None or r <= 5)),
    ("W2 cross shard, sleep", "W2", {"idle": "sleep"}, "ns_per_msg", "ns", "low",
     "L3wake", "<= 1 wake (L3)", lambda v, r, g: r is not None and r <= 1),
    ("W2 cross shard, busy-poll", "W2", {"idle": "busy-poll"}, "oneway_p50_ns", "ns", "low",
     "L2oneway", "p50 <= 2x L2", lambda v, r, g: r is not None and r <= 2),
    ("W3 fan-in (credit window)", "W3", {"window": "32768"}, "rate", "msg/s", "high",
     "L2rate", ">= 50 M/s, RSS <= 64 MiB",
     lambda v, r, g: v >= 50e6 and (aux(g, "W3", {"window": "32768"}, "maxrss_kb") or 1e18) <= MiB64),
    ("W3 fan-in (mailbox bound only)", "W3", {"window": "0"}, "rate", "msg/s", "high",
     "L2rate", ">= 50 M/s, RSS <= 64 MiB",
     lambda v, r, g: v >= 50e6 and (aux(g, "W3", {"window": "0"}, "maxrss_kb") or 1e18) <= MiB64),
    ("W4 ring 1000, same shard", "W4", {"ring": "1000", "placement": "same-shard"}, "ns_per_hop",
     "ns", "low", "L1", "<= 15 ns", lambda v, r, g: v <= 15),
    ("W4 ring 10000, same shard", "W4", {"ring": "10000", "placement": "same-shard"},
     "ns_per_hop", "ns", "low", "L1", "<= 15 ns", lambda v, r, g: v <= 15),
    ("W4 ring 1000, alternating", "W4", {"ring": "1000", "placement": "alternating"},
     "ns_per_hop", "ns", "low", "L2oneway", "<= 2x L2", lambda v, r, g: r is not None and r <= 2),
    ("W4 ring 10000, alternating", "W4", {"ring": "10000", "placement": "alternating"},
     "ns_per_hop", "ns", "low", "L2oneway", "<= 2x L2", lambda v, r, g: r is not None and r <= 2),
    ("W4 ring 1000, hash", "W4", {"ring": "1000", "placement": "hash"}, "ns_per_hop", "ns", "low",
     "L2oneway", "-", None),
    ("W4 ring 10000, hash", "W4", {"ring": "10000", "placement": "hash"}, "ns_per_hop", "ns",
     "low", "L2oneway", "-", None),
    ("W5 spawn, local", "W5", {"placement": "local"}, "spawns_per_s", "spawn/s", "high", None,
     ">= 5 M/s", lambda v, r, g: v >= 5e6),
    ("W5 spawn, spread", "W5", {"placement": "spread"}, "spawns_per_s", "spawn/s", "high", None,
     "-", None),
    ("W5i idle actor", "W5i", {}, "bytes_per_idle_actor", "B", "low", None, "<= 256 B",
     lambda v, r, g: v <= 256),
    ("W6 ask same shard", "W6", {"placement": "same-shard"}, "p50_ns", "ns", "low", "2L1",
     "p50 <= 100 ns", lambda v, r, g: v <= 100),
    ("W6 ask cross shard, sleep", "W6", {"placement": "cross-shard", "idle": "sleep"}, "p50_ns",
     "ns", "low", "L2rtt", "-", None),
    ("W6 ask cross shard, busy-poll", "W6", {"placement": "cross-shard", "idle": "busy-poll"},
     "p50_ns", "ns", "low", "L2rtt", "p50 <= 1.5 us", lambda v, r, g: v <= 1500),
    ("W6 ask outside thread", "W6", {"placement": "outside"}, "p50_ns", "ns", "low", "L2rtt",
     "p50 <= 2 us, p99.9 <= 50 us",
     lambda v, r, g: v <= 2000 and (aux(g, "W6", {"placement": "outside"}, "p999_ns") or 1e18) <= 50000),
    ("T1 transport, 64 B frames", "T1", {"mode": "stream", "msg_bytes": "64", "keyed": "0"}, "rate",
     "msg/s", "high", None, "-", None),
    ("T1 transport, 64 B frames, keyed", "T1", {"mode": "stream", "msg_bytes": "64", "keyed": "1"},
     "rate", "msg/s", "high", None, "-", None),
    ("T1 transport, 1 KiB frames", "T1", {"mode": "stream", "msg_bytes": "1024", "keyed": "0"},
     "gb_per_s", "GB/s", "high", "L4stream", "-", None),
    ("T1 transport round trip", "T1", {"mode": "rr", "keyed": "0"}, "p50_ns", "ns", "low", "L4rr",
     "-", None),
]

# Secondary figures shown next to a row (metric keys of the same line).
ALSO = {"W3": ["maxrss_kb"], "W5": ["peak_rss_kb"], "W6": ["p99_ns", "p999_ns"],
        "W2": ["ns_per_msg", "oneway_p99_ns"], "T1": ["frames_per_send", "sqes_per_submit", "p99_ns"]}

# Limit rows: (label, tag, match, metric, unit).
LIMIT_ROWS = [
    ("L1 push+pop+indirect call", "L1", {}, "ns_per_op", "ns"),
    ("L2 SPSC stream, publish /32", "L2", {"mode": "stream", "publish": "32"}, "rate", "msg/s"),
    ("L2 SPSC stream, publish /1", "L2", {"mode": "stream", "publish": "1"}, "rate", "msg/s"),
    ("L2 SPSC ping-pong round trip", "L2", {"mode": "pingpong"}, "p50_ns", "ns"),
    ("L3 io_uring NOP, batch 1", "L3", {"mode": "nop", "batch": "1"}, "ns_per_op", "ns"),
    ("L3 io_uring NOP, batch 16", "L3", {"mode": "nop", "batch": "16"}, "ns_per_op", "ns"),
    ("L3 io_uring NOP, batch 64", "L3", {"mode": "nop", "batch": "64"}, "ns_per_op", "ns"),
    ("L3 wake round trip, MSG_RING", "L3", {"mode": "msg_ring"}, "p50_ns", "ns"),
    ("L3 wake round trip, eventfd", "L3", {"mode": "eventfd"}, "p50_ns", "ns"),
    ("L3 wake round trip, futex", "L3", {"mode": "futex"}, "p50_ns", "ns"),
    ("L4 UDP 64 B, sendmmsg", "L4", {"mode": "udp-sendmmsg"}, "rate", "dgram/s"),
    ("L4 UDP 64 B, io_uring", "L4", {"mode": "udp-uring"}, "rate", "dgram/s"),
    ("L4 TCP stream", "L4", {"mode": "tcp-stream"}, "gb_per_s", "GB/s"),
    ("L4 TCP 64 B request/response", "L4", {"mode": "tcp-rr"}, "p50_ns", "ns"),
]

PEERS = ["caf", "erlang"]


def fmt(v, unit=""):
    if v is None:
        return "-"
    a = abs(v)
    if unit in ("msg/s", "spawn/s", "dgram/s") or a >= 1e6:
        return f"{v / 1e6:.2f} M" if a >= 1e5 else f"{v:.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def x_limit(value, limit, better):
    """How many times the floor: value/limit for costs, limit/value for rates."""
    return value / limit if better == "low" else limit / value


def peer_match(match):
    """What a Casty row is compared with in CAF and Erlang, which cannot place an actor on a
    core: "same-shard" is their one-scheduler-thread run, "outside" their blocking ask from a
    non-actor thread, and any other placement their ordinary multi-threaded scheduler."""
    m = dict(match)
    if "placement" in m:
        m["placement"] = {"same-shard": "same-shard", "outside": "outside"}.get(m["placement"],
                                                                              "scheduler")
    return m


def build_rows(g):
    rows = []
    for label, tag, match, metric, unit, better, limit, target, check in ROWS:
        s = find(g, tag, "casty", match, metric)
        row = {"workload": label, "tag": tag, "match": match, "metric": metric, "unit": unit,
               "target": target, "median": None, "min": None, "max": None, "spread_pct": None,
               "limit": None, "limit_value": None, "x_limit": None, "ok": None, "also": {},
               "peers": {}}
        if s:
            row.update({k: s[k] for k in ("median", "min", "max", "spread_pct", "runs")})
            for k in ALSO.get(tag, []):
                if k != metric:
                    a = find(g, tag, "casty", match, k)
                    if a:
                        row["also"][k] = a["median"]
        if limit and s:
            llabel, ltag, lmatch, lmetric, factor = LIMITS[limit]
            ls = find(g, ltag, "limit", lmatch, lmetric)
            if ls and ls["median"] > 0 and s["median"] > 0:
                # The machine's mood drifts over minutes: hold each run against the probe of
                # the same round (bench.sh interleaves rounds), then take the median ratio.
                ratios = [x_limit(w, ls["by_run"][r] * factor, better)
                          for r, w in s["by_run"].items() if ls["by_run"].get(r, 0) > 0 and w > 0]
                row["limit"] = llabel
                row["limit_value"] = ls["median"] * factor
                row["x_limit"] = (statistics.median(ratios) if ratios else
                                  x_limit(s["median"], row["limit_value"], better))
        if check and s:
            row["ok"] = bool(check(s["median"], row["x_limit"], g))
        for peer in PEERS:
            p = find(g, tag, peer, peer_match(match), metric)
            if p:
                row["peers"][peer] = p["median"]
        rows.append(row)
    return rows


def build_limit_rows(g):
    out = []
    for label, tag, match, metric, unit in LIMIT_ROWS:
        s = find(g, tag, "limit", match, metric)
        out.append({"limit": label, "tag": tag, "match": match, "metric": metric, "unit": unit,
                    **({k: s[k] for k in ("median", "min", "max", "spread_pct", "runs")} if s else
                       {"median": None})})
    return out


def print_table(rows, limit_rows, peers):
    head = ["workload", "metric", "median", "min-max", "+-%", "limit", "x limit", "target", "ok"]
    if peers:
        head += PEERS
    table = [head]
    for r in rows:
        if r["median"] is None:
            continue
        also = " ".join(f"{k}={fmt(v)}" for k, v in r["also"].items())
        line = [r["workload"], f"{r['metric']} ({r['unit']})", fmt(r["median"], r["unit"]),
                f"{fmt(r['min'], r['unit'])}-{fmt(r['max'], r['unit'])}",
                f"{r['spread_pct']:.1f}",
                f"{fmt(r['limit_value'])} {r['limit'] or ''}".strip() if r["limit"] else "-",
                f"{r['x_limit']:.2f}x" if r["x_limit"] is not None else "-",
                r["target"], {True: "ok", False: "MISS", None: "-"}[r["ok"]]]
        if peers:
            line += [fmt(r["peers"].get(p), r["unit"]) for p in PEERS]
        table.append(line)
        if also:
            table.append(["", "  " + also] + [""] * (len(head) - 2))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    lt = [["limit probe", "metric", "median", "min-max", "+-%"]]
    for r in limit_rows:
        if r["median"] is None:
            continue
        lt.append([r["limit"], f"{r['metric']} ({r['unit']})", fmt(r["median"], r["unit"]),
                   f"{fmt(r['min'], r['unit'])}-{fmt(r['max'], r['unit'])}",
                   f"{r['spread_pct']:.1f}"])
    widths = [max(len(str(row[i])) for row in lt) for i in range(5)]
    for i, row in enumerate(lt):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def write_plot_data(g, rows, datadir):
    os.makedirs(datadir, exist_ok=True)
    with open(os.path.join(datadir, "w6.dat"), "w") as f:
        f.write("# placement p50_ns p99_ns p999_ns\n")
        for label, match in [("same-shard", {"placement": "same-shard"}),
                             ("cross-shard", {"placement": "cross-shard", "idle": "sleep"}),
                             ("cross-shard/busy-poll", {"placement": "cross-shard", "idle": "busy-poll"}),
                             ("outside", {"placement": "outside"})]:
            v = [find(g, "W6", "casty", match, k) for k in ("p50_ns", "p99_ns", "p999_ns")]
            if all(v):
                f.write(f'"{label}" ' + " ".join(f"{x['median']:.0f}" for x in v) + "\n")
    with open(os.path.join(datadir, "w3.dat"), "w") as f:
        f.write("# variant rate_mps rate_min rate_max maxrss_mib\n")
        for label, match in [("credit window", {"window": "32768"}),
                             ("mailbox bound only", {"window": "0"})]:
            r = find(g, "W3", "casty", match, "rate")
            m = find(g, "W3", "casty", match, "maxrss_kb")
            if r and m:
                f.write(f'"{label}" {r["median"] / 1e6:.3f} {r["min"] / 1e6:.3f} '
                        f'{r["max"] / 1e6:.3f} {m["median"] / 1024:.1f}\n')
    with open(os.path.join(datadir, "w4.dat"), "w") as f:
        f.write("# placement ring1000_ns ring10000_ns\n")
        for p in ("same-shard", "alternating", "hash"):
            v = [find(g, "W4", "casty", {"ring": m, "placement": p}, "ns_per_hop")
                 for m in ("1000", "10000")]
            f.write(f'"{p}" ' + " ".join(f"{x['median']:.1f}" if x else "NaN" for x in v) + "\n")
    with open(os.path.join(datadir, "limits.dat"), "w") as f:
        f.write("# workload x_limit target_x\n")
        for r in rows:
            if r["x_limit"] is not None:
                f.write(f'"{r["workload"]}" {r["x_limit"]:.3f}\n')


def meta(runs, quick):
    def cmd(*a):
        try:
            return subprocess.run(a, capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(),
            "kernel": platform.release(), "cpus": os.cpu_count(), "runs": runs, "quick": quick,
            "commit": cmd("git", "rev-parse", "--short", "HEAD"),
            "dirty": bool(cmd("git", "status", "--porcelain", "--untracked-files=no"))}


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    raw, out = argv[1], argv[2]
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 0
    quick, peers = "--quick" in argv, "--peers" in argv
    g = parse(raw)
    rows, limit_rows = build_rows(g), build_limit_rows(g)
    print_table(rows, limit_rows, peers)
    results = [{"tag": t, "runtime": r, "setup": dict(s),
                "metrics": {k: summary(v) for k, v in m.items()}} for (t, r, s), m in g.items()]
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump({"meta": meta(runs, quick), "table": rows, "limits": limit_rows,
                   "results": results}, f, indent=1)
    write_plot_data(g, rows, os.path.join(out, "data"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
