"""Markdown report and SVG chart from the raw results (bench/results/latest.json).
Every ✅/❌ is computed here from the medians; nothing is typed in by hand. The one
hand-written part is bench/ANALYSIS.md (what remains and why), included as it is.
`python3 bench/report.py [DIR]` writes the report again from DIR/latest.json."""
import json
import os
import statistics
import sys

ANALYSIS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ANALYSIS.md")

PROXIES = ["sluice", "haproxy", "haproxy-splice", "nginx"]
OTHERS = ["haproxy", "haproxy-splice", "nginx"]
COLORS = {"sluice": "#d9480f", "haproxy": "#1c7ed6", "haproxy-splice": "#74c0fc", "nginx": "#2f9e44"}
CHART_METRICS = ["bulk1_gbps", "bulk4_gbps", "conn_rate", "redis_set_p1_rps", "redis_get_p1_rps",
                 "redis_set_p16_rps", "redis_get_p16_rps", "pg_tps"]


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(v):
    if v is None:
        return "–"
    a = abs(v)
    if float(v).is_integer() and a < 1000:
        return f"{int(v)}"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def cell(m, peer, direct_med):
    xs = m["samples"].get(peer)
    if xs is None:
        return "n/a"
    if not xs:
        return "failed"
    s = fmt(med(xs))
    if len(xs) > 1:
        s += f" [{fmt(min(xs))}–{fmt(max(xs))}]"
    if m["ratio_to_direct"] and direct_med and peer != "direct":
        s += f" ({med(xs) / direct_med:.2f}×)"
    return s


def by_id(results):
    return {m["id"]: m for m in results["metrics"]}


def metric_table(results, ids, labels):
    ms = by_id(results)
    peers = ["direct"] + PROXIES
    lines = ["| metric | " + " | ".join(labels[p] for p in peers) + " |", "|---|" + "---|" * len(peers)]
    for i in ids:
        m = ms.get(i)
        if not m:
            continue
        d = med(m["samples"].get("direct", []))
        lines.append(f"| {m['title']}, {m['unit']} | " + " | ".join(cell(m, p, d) for p in peers) + " |")
    return "\n".join(lines)


def targets(results):
    """(target text, measured text, met: True/False/None) rows."""
    ms, rows = by_id(results), []

    def M(i, p):
        m = ms.get(i)
        return med(m["samples"].get(p, [])) if m else None

    def best_other(i, higher):
        vals = [(M(i, p), p) for p in OTHERS if M(i, p) is not None]
        if not vals:
            return None, None
        return (max if higher else min)(vals)

    def row(text, measured, ok):
        rows.append((text, measured, ok))

    def have(*vals):
        return all(v is not None for v in vals)

    missing = "not measured (failed or not run)"
    s4, hs4, d4 = M("bulk4_gbps", "sluice"), M("bulk4_gbps", "haproxy-splice"), M("bulk4_gbps", "direct")
    row("bulk 4 streams ≥ HAProxy splice", f"{fmt(s4)} vs {fmt(hs4)} Gbit/s" if have(s4, hs4) else missing,
        have(s4, hs4) and s4 >= hs4)
    row("bulk 4 streams ≥ 0.85× direct", f"{s4 / d4:.2f}× ({fmt(s4)} / {fmt(d4)} Gbit/s)" if have(s4, d4) else missing,
        have(s4, d4) and s4 >= 0.85 * d4)
    c, hc = M("bulk4_cpu_per_gb", "sluice"), M("bulk4_cpu_per_gb", "haproxy-splice")
    row("CPU/GB (4 streams) ≤ HAProxy splice", f"{fmt(c)} vs {fmt(hc)} CPU-s/GB" if have(c, hc) else missing,
        have(c, hc) and c <= hc)
    for i, lat_i, lat_name, factor, what in [
        ("conn_rate", "conn_p99", "p99", 1.2, "conn rate"),
        ("redis_set_p1_rps", "redis_set_p1_p99", "p99", 1.1, "redis SET"),
        ("redis_get_p1_rps", "redis_get_p1_p99", "p99", 1.1, "redis GET"),
        ("redis_set_p16_rps", "redis_set_p16_p99", "p99", 1.1, "redis SET -P 16"),
        ("redis_get_p16_rps", "redis_get_p16_p99", "p99", 1.1, "redis GET -P 16"),
        ("pg_tps", "pg_latency", "average latency", 1.1, "pgbench -S tps"),
    ]:
        s = M(i, "sluice")
        b, bp = best_other(i, True)
        row(f"{what} ≥ {factor}× best peer",
            f"{fmt(s)} vs {fmt(b)} ({bp}): {s / b:.2f}×" if have(s, b) else missing, have(s, b) and s >= factor * b)
        sl = M(lat_i, "sluice")
        bl, blp = best_other(lat_i, False)
        row(f"{what}: {lat_name} ≤ best peer's", f"{fmt(sl)} vs {fmt(bl)} ms ({blp})" if have(sl, bl) else missing,
            have(sl, bl) and sl <= bl)
    if not any(r.get("peer") == "sluice" and "error" not in r for r in results.get("idle", [])):
        row("idle ≤ 2 fds and ≤ 1 KiB RSS per session", missing, False)
    for r in results.get("idle", []):
        if r.get("peer") == "sluice" and "error" not in r:
            n = r["sessions"]
            row(f"idle ({n:,} sessions) ≤ 2 fds per session", f"{r['fds_per_session']:.2f}", r["fds_per_session"] <= 2.0)
            row(f"idle ({n:,} sessions) ≤ 1 KiB RSS per session", f"{r['rss_kib_per_session']:.3f} KiB", r["rss_kib_per_session"] <= 1.0)
    return rows


def summary_table(results, labels):
    ms = by_id(results)
    rows = [("bulk1_gbps", "bulk iperf3, 1 stream, Gbit/s"), ("bulk4_gbps", "bulk iperf3, 4 streams, Gbit/s"),
            ("bulk4_cpu_per_gb", "proxy CPU-seconds per GB, 4 streams"),
            ("conn_rate", "short connections, conn/s"), ("conn_p99", "short connections p99 ms"),
            ("redis_set_p1_rps", "redis SET ops/s"), ("redis_get_p1_rps", "redis GET ops/s"),
            ("redis_get_p1_p99", "redis GET p99 ms"), ("redis_set_p16_rps", "redis SET -P 16 ops/s"),
            ("redis_get_p16_rps", "redis GET -P 16 ops/s"), ("redis_get_p16_p99", "redis GET -P 16 p99 ms"),
            ("pg_tps", "pgbench -S -c16 -j2 tps"), ("pg_latency", "pgbench -S latency avg ms"),
            ("udp_loss", "UDP datagrams lost at 1 Gbit/s, %"), ("udp_cpu_per_gb", "proxy CPU-seconds per GB, UDP")]
    peers = ["direct"] + PROXIES
    out = ["| scenario (median) | " + " | ".join(labels[p] for p in peers) + " |", "|---|" + "---|" * len(peers)]
    for i, title in rows:
        m = ms.get(i)
        if not m:
            continue
        d = med(m["samples"].get("direct", []))
        cells = []
        for p in peers:
            xs = m["samples"].get(p)
            if xs is None:
                cells.append("–")
            elif not xs:
                cells.append("failed")
            else:
                v = med(xs)
                r = f" ({v / d:.2f}×)" if m["ratio_to_direct"] and d and p != "direct" else ""
                cells.append(fmt(v) + r)
        out.append(f"| {title} | " + " | ".join(cells) + " |")
    idle = {r["peer"]: r for r in results.get("idle", []) if "error" not in r}
    if idle:
        n = max(r["sessions"] for r in idle.values())
        big = {p: r for p, r in idle.items() if r["sessions"] == n}
        out.append(f"| idle sessions ({n:,}): proxy RSS KiB per session | – | " +
                   " | ".join(fmt(big[p]["rss_kib_per_session"]) if p in big else "–" for p in PROXIES) + " |")
        out.append(f"| idle sessions ({n:,}): fds per session | – | " +
                   " | ".join(f"{big[p]['fds_per_session']:.2f}" if p in big else "–" for p in PROXIES) + " |")
    return "\n".join(out)


def svg_chart(results, labels):
    ms = by_id(results)
    groups = []
    for i in CHART_METRICS:
        m = ms.get(i)
        if not m:
            continue
        d = med(m["samples"].get("direct", []))
        if not d:
            continue
        bars = [(p, med(m["samples"][p]) / d) for p in PROXIES if m["samples"].get(p)]
        groups.append((f"{m['title']}", bars))
    bar_h, gap, left, width = 14, 16, 300, 420
    top = 50
    height = top + sum(len(b) * bar_h + gap for _, b in groups) + 40
    vmax = max([1.0] + [r for _, bars in groups for _, r in bars]) * 1.1
    x = lambda r: left + width * r / vmax  # noqa: E731
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="100%" height="100%" fill="white"/>',
         f'<text x="10" y="18" font-size="14" font-weight="bold">Throughput as a ratio to direct (no proxy) — '
         f'{"quick" if results.get("quick") else "full"} run {esc(results["date"])}</text>']
    lx = 10
    for p in PROXIES:
        o.append(f'<rect x="{lx}" y="28" width="10" height="10" fill="{COLORS[p]}"/>'
                 f'<text x="{lx + 14}" y="37">{esc(labels[p])}</text>')
        lx += 120
    y = top
    for title, bars in groups:
        o.append(f'<text x="{left - 8}" y="{y + len(bars) * bar_h / 2 + 4}" text-anchor="end">{esc(title)}</text>')
        for p, r in bars:
            o.append(f'<rect x="{left}" y="{y}" width="{x(r) - left:.1f}" height="{bar_h - 2}" fill="{COLORS[p]}"/>'
                     f'<text x="{x(r) + 4:.1f}" y="{y + bar_h - 4}">{r:.2f}×</text>')
            y += bar_h
        y += gap
    for t in [0.25 * k for k in range(int(vmax / 0.25) + 1)]:
        o.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{y - gap + 4}" stroke="#ccc" '
                 f'stroke-width="0.5"/><text x="{x(t):.1f}" y="{y + 10}" text-anchor="middle">{t:.2f}</text>')
    o.append(f'<line x1="{x(1):.1f}" y1="{top - 6}" x2="{x(1):.1f}" y2="{y - gap + 4}" stroke="black" '
             f'stroke-dasharray="4 3"/><text x="{x(1) + 3:.1f}" y="{top - 8}">direct = 1.0</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def write(results, out):
    labels = {p["name"]: p["label"] for p in results["peers"]}
    with open(os.path.join(out, "latest.svg"), "w") as f:
        f.write(svg_chart(results, labels))
    mach, v, st = results["machine"], results["versions"], results["settings"]
    kind = "QUICK run (`make bench QUICK=1`: fewer runs, shorter durations)" if results["quick"] else "full run (`make bench`)"
    L = [f"# sluice benchmark — {results['date']}", "",
         f"**{kind}.** {results['runs_per_cell']} runs per cell, medians with [min–max] and the ratio to direct "
         f"(×direct). Took {results.get('duration_s', '?')} s.", "",
         f"Machine: {mach['cores']} cores ({mach['cpu_model']}), {mach['memory']} RAM, kernel {v['kernel']}; "
         f"load average at start {' '.join(mach['loadavg_at_start'])}, at end {' '.join(mach.get('loadavg_at_end', ['?']))}; "
         f"the machine was busy {mach.get('busy_s', '?')} CPU-seconds during the run ({mach.get('busy_pct', '?')} % of all cores, "
         f"everything included: load generators, proxies, backends, and whatever else ran); in the 2 s before the "
         f"bench started anything the machine was already {mach.get('background_busy_pct_before', '?')} % busy with other work. "
         f"Everything runs on loopback: the load generator, the proxy and the backends share these "
         f"{mach['cores']} cores, so compare ratios within this run, never absolute numbers across runs or machines. "
         f"Every proxy runs {results['workers']} workers/threads (HAProxy `nbthread`, nginx `worker_processes`, "
         f"sluice `workers`) with leastconn.", ""]
    if os.environ.get("BENCH_NOTE"):
        L += [f"Note: {os.environ['BENCH_NOTE']}", ""]
    for n in results.get("notes", []):
        L += [f"Note: {n}", ""]
    L += ["## Targets (computed from the medians below)", "", "| target | measured | met |", "|---|---|---|"]
    for text, measured, ok in targets(results):
        L.append(f"| {text} | {measured} | {'✅' if ok else '❌'} |")
    L += ["", "\"best peer\" = the best median among HAProxy, HAProxy splice and nginx stream (highest throughput, "
          "lowest latency, taken separately).", "",
          "## Summary", "", summary_table(results, labels), "", "![ratios to direct](latest.svg)", ""]
    if os.path.exists(ANALYSIS):
        with open(ANALYSIS) as f:
            L += [f.read().rstrip(), ""]
    sections = [
        ("Bulk throughput (iperf3)", f"`iperf3 -t {st['bulk_secs']} -P 1|4`, client → proxy → server; "
         "CPU-seconds per GB = proxy utime+stime (/proc/PID/stat, all threads; nginx: master + workers) over the run "
         "divided by the GB the server received.",
         ["bulk1_gbps", "bulk4_gbps", "bulk1_cpu_per_gb", "bulk4_cpu_per_gb", "bulk1_machine_busy", "bulk4_machine_busy"]),
        ("Connection rate (wrk)", f"`wrk -t2 -c50 -d{st['conn_secs']}s --latency -H 'Connection: close'` against an "
         "nginx http backend (2 workers, 4 ports) serving a 3-byte file: one request per TCP connection.",
         ["conn_rate", "conn_p50", "conn_p99", "conn_cpu_us", "conn_machine_busy", "conn_errors"]),
        ("Redis (redis-benchmark)", f"`redis-benchmark -t set,get -c 50 -n {st['redis_n']:,}` and "
         f"`-P 16 -n {st['redis_n_pipelined']:,}`, `--csv` (rps, p99 in ms).",
         ["redis_set_p1_rps", "redis_get_p1_rps", "redis_set_p1_p99", "redis_get_p1_p99", "redis_set_p16_rps",
          "redis_get_p16_rps", "redis_set_p16_p99", "redis_get_p16_p99", "redis_p1_cpu_us", "redis_p16_cpu_us"]),
        ("PostgreSQL (pgbench)", f"`pgbench -S -c 16 -j 2 -T {st['pg_secs']} -n` (read-only), scale 2.",
         ["pg_tps", "pg_latency", "pg_cpu_us", "pg_failed"]),
        ("UDP (iperf3 -u)", f"`iperf3 -u -b 1G -l 1400 -t {st['bulk_secs']}` through the peers that balance UDP "
         "(HAProxy 2.6 does not: n/a); the control connection goes over TCP on the same port. Loss is what the "
         "iperf3 server did not receive, wherever it was dropped (the direct column is the machine's own loss).",
         ["udp_loss", "udp_cpu_per_gb"]),
    ]
    for title, how, ids in sections:
        if not any(i in by_id(results) for i in ids):
            continue
        L += [f"## {title}", "", how, "", metric_table(results, ids, labels), ""]
    if results.get("idle"):
        L += ["## Idle sessions", "",
              "Clients (source addresses 127.0.0.2.., bound before connect) open sessions through the proxy to a "
              "backend that accepts and holds them on 8 ports. Per session = (proxy VmRSS and `ls /proc/PID/fd` "
              "with the sessions held − before them, after 100 warm-up sessions) / sessions. \"after close\" is "
              "what is left once every client closed (fds leaked / memory not returned).", "",
              "| proxy | sessions | RSS KiB per session | fds per session | RSS before → held KiB | fds before → held | after close: fds, RSS KiB |",
              "|---|---|---|---|---|---|---|"]
        for r in results["idle"]:
            if "error" in r:
                L.append(f"| {labels.get(r['peer'], r['peer'])} | {r['sessions']:,} | failed: {r['error'][:120]} | | | | |")
                continue
            L.append(f"| {labels[r['peer']]} | {r['sessions']:,} | {r['rss_kib_per_session']:.3f} | {r['fds_per_session']:.2f} | "
                     f"{r['rss_before_kib']:,} → {r['rss_held_kib']:,} | {r['fds_before']} → {r['fds_held']} | "
                     f"{r['fds_after_close'] - r['fds_before']:+d}, {r['rss_after_close_kib'] - r['rss_before_kib']:+,} |")
        L.append("")
    L += ["## CPU accounting", "",
          "Proxy CPU is the proxy's own utime+stime from /proc (all threads; nginx: master + worker processes) "
          "over each measurement. \"Machine busy\" is the whole machine's non-idle time from /proc/stat over the same "
          "interval, as a percentage of all cores: at ~100 % the load generator, the proxy and the backend compete for "
          "CPU and every figure above is CPU-bound, not network-bound. Anything else running on the machine (other "
          "builds) shows up there too.", ""]
    cpu_ids = ["bulk1_cpu_per_gb", "bulk4_cpu_per_gb", "conn_cpu_us", "redis_p1_cpu_us", "redis_p16_cpu_us", "pg_cpu_us",
               "bulk1_machine_busy", "bulk4_machine_busy", "conn_machine_busy"]
    L += [metric_table(results, cpu_ids, labels), ""]
    split_ids = [f"{s}_{k}" for s in ("bulk4", "conn", "redis_p1", "redis_p16", "pg") for k in ("user_pct", "ceiling")]
    if any(i in by_id(results) for i in split_ids):
        L += ["### What the proxy's own code costs", "",
              "User space = utime / (utime + stime) of the proxy: the part of its CPU spent in its own code and "
              "libraries rather than in the kernel's TCP stack, epoll and scheduler. The bound is what tuning that "
              "code could win at most: while the machine is CPU-bound, a rate is the machine's CPU over the CPU "
              "per operation, so with the proxy's user time at zero it would be at most "
              "machine busy / (machine busy − proxy user time) × the rate measured. A target above "
              "that bound × the proxy's own rate cannot be reached by user-space work alone.", "",
              metric_table(results, split_ids, labels), ""]
    L += ["## Versions", "", "| tool | version |", "|---|---|"]
    for k, val in v.items():
        L.append(f"| {k} | {val.replace('|', '/')} |")
    L += ["", f"fd hard limit (`ulimit -Hn`): {st['nofile_hard_limit']:,}.", ""]
    if results.get("errors"):
        L += ["## Errors during the run", ""] + [f"- {e}" for e in results["errors"]] + [""]
    L += ["Raw numbers: [latest.json](latest.json). Produced by `bench/run.py`; see [bench/README.md](../README.md).", ""]
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    with open(os.path.join(out, "latest.json")) as f:
        write(json.load(f), out)
