"""The soak's verdict and report: checks(res) turns the raw results into pass/fail checks;
write(res, out) writes soak.md (figures, checks, text charts) and soak.svg (RSS, fds and sessions
over time, with the warm-up and the fitted line). `python3 bench/soak_report.py [DIR]` writes
them again from DIR/soak.json."""
import json
import os
import sys

ECHO_KINDS = ("bulk", "short")
COVERAGE = ("kill_echo", "kill_redis", "check_port_closed", "set_drain", "set_maint", "add_server", "del_server",
            "reload_admin", "reload_sighup")


def check(name, ok, detail):
    return {"name": name, "ok": bool(ok), "detail": detail}


def rejected(res, pool):
    return sum(v for k, v in res.get("rejected", {}).items() if f'pool="{pool}"' in k)


def checks(res):
    out = []
    samples = res["samples"]
    pids = {s["pid"] for s in samples}
    ups = [s["uptime"] for s in samples]
    restarted = any(b < a for a, b in zip(ups, ups[1:]))
    out.append(check("sluice stayed up", not res["sampler_died"] and len(pids) == 1 and not restarted
                     and not res["sample_errors"],
                     f"{len(samples)} samples, pid {sorted(pids)}, uptime never went back: {not restarted}; "
                     f"admin errors while sampling: {len(res['sample_errors'])}"
                     + (f"; {res['sampler_died']}" if res["sampler_died"] else "")))
    out.append(check("clean stop", res["sluice_exit"] == 0, f"exit status after SIGTERM: {res['sluice_exit']}"))
    th = res["thresholds"]
    r, f = res["rss"], res["fds"]
    out.append(check("RSS flat after warm-up", r["n"] >= 3 and r["slope_per_min"] <= th["rss_kib_per_min"],
                     f"slope {r['slope_per_min']:+.1f} KiB/min over {r['n']} samples (limit {th['rss_kib_per_min']:g}), "
                     f"bound {r['bound']} KiB ({r['min']}..{r['max']})"))
    out.append(check("fds flat after warm-up", f["n"] >= 3 and f["slope_per_min"] <= th["fds_per_min"],
                     f"slope {f['slope_per_min']:+.2f} fds/min (limit {th['fds_per_min']:.2f}: a rise of "
                     f"{th['fd_drift']:g} fds over the fitted window), bound {f['bound']} "
                     f"({f['min']}..{f['max']})"))
    c = res["counts"]
    bad = {k: (c.get(k, {}).get("mismatch", 0), c.get(k, {}).get("cut_unexplained", 0)) for k in ECHO_KINDS}
    okn = {k: c.get(k, {}).get("ok", 0) for k in ECHO_KINDS}
    out.append(check("every byte checked", all(m == 0 and u == 0 for m, u in bad.values()) and all(okn.values()),
                     "; ".join(f"{k}: {okn[k]:,} sessions verified, {c.get(k, {}).get('checked_bytes', 0):,} bytes, "
                               f"{bad[k][0]} wrong, {bad[k][1]} cut short without a kill" for k in ECHO_KINDS)))
    conn_err = sum(c.get(k, {}).get("connect_error", 0) for k in ECHO_KINDS)
    out.append(check("clients connected and finished", conn_err == 0 and res["clients_still_running"] == 0,
                     f"connect errors {conn_err}, clients still running at the end {res['clients_still_running']}"))
    for kind, label in (("redis", "redis-benchmark runs"), ("pg", "pgbench runs")):
        runs = res["runs"].get(kind, [])
        good = sum(1 for x in runs if x["ok"])
        expl = sum(1 for x in runs if not x["ok"] and x["explained"])
        out.append(check(label, runs and good > 0 and good + expl == len(runs),
                         f"{good} of {len(runs)} passed" + (f", {expl} failed during a redis-server kill" if expl else "")))
    after, servers = res["idle_after"], res["servers_after"]
    if after is None or servers is None:
        out.append(check("sessions all closed after traffic", False, "sluice never reported 0 sessions within 60 s"))
    else:
        left = {p: v["current"] for p, v in after["pools"].items() if v["current"] or v["queue"]}
        srv_left = {f"{s['pool']}/{s['name']}": s["sessions_current"] for s in servers if s["sessions_current"]}
        out.append(check("sessions all closed after traffic", after["sessions_current"] == 0 and not left and not srv_left,
                         f"current {after['sessions_current']}, pools {left or 'all 0'}, servers {srv_left or 'all 0'}"))
        pool_sum = sum(v["total"] for v in after["pools"].values())
        rows = [f"opened {after['sessions_total']:,} = closed {after['sessions_total'] - after['sessions_current']:,} "
                f"+ current {after['sessions_current']}; sum of pools {pool_sum:,}"]
        ok = pool_sum == after["sessions_total"]
        for k in ECHO_KINDS:
            mine = c.get(k, {}).get("connections", 0)
            theirs = after["pools"].get(k, {}).get("total")
            rows.append(f"{k}: sluice {theirs:,} sessions, clients {mine:,} connections")
            ok = ok and theirs == mine
        out.append(check("session counters consistent", ok, "; ".join(rows)))
    by = res.get("bytes") or {}
    rows, ok = [], bool(by)
    for k in ECHO_KINDS:
        d = c.get(k, {})
        bi = by.get(f'{{pool="{k}",direction="in"}}', 0)
        bo = by.get(f'{{pool="{k}",direction="out"}}', 0)
        sent, recv = d.get("sent_bytes", 0), d.get("checked_bytes", 0) + d.get("hello_bytes", 0)
        broken = d.get("cut_by_kill", 0) + d.get("nohello_kill", 0) + d.get("nohello", 0)
        exact = bi == sent and bo == recv
        ok = ok and bi <= sent and bo >= recv and (exact or broken > 0)
        rows.append(f"{k}: in {bi:,.0f} vs sent {sent:,}, out {bo:,.0f} vs received {recv:,}"
                    + ("" if exact else f" ({broken} sessions cut or refused)"))
    out.append(check("byte counters match the clients'", ok,
                     "sluice never counts more in than the clients sent nor less out than they received, and "
                     "exactly as much when no session of the pool was cut; " + "; ".join(rows)))
    refused = {k: (c.get(k, {}).get("nohello", 0), rejected(res, k)) for k in ECHO_KINDS}
    out.append(check("refusals accounted for", all(a <= b for a, b in refused.values()),
                     "; ".join(f"{k}: {a} closed before a backend answered (no kill near), sluice counted {b:.0f} rejected"
                               for k, (a, b) in refused.items())))
    ch = res["chaos"]
    wanted = {"kill_echo": "kill_echo", "kill_redis": "kill_redis", "check_port_closed": "health_flap",
              "set_drain": "drain", "set_maint": "drain", "add_server": "add_del", "del_server": "add_del",
              "reload_admin": "reload", "reload_sighup": "reload"}
    missing = [k for k in COVERAGE if not ch.get(k) and wanted[k] in res.get("chaos_kinds", wanted.values())]
    out.append(check("every kind of chaos happened", not missing,
                     "missing: " + ", ".join(missing) if missing else ", ".join(f"{k} {ch.get(k, 0)}" for k in COVERAGE)))
    errs = ch.get("reload_errors", 0) + ch.get("admin_errors", 0) + ch.get("chaos_errors", 0)
    out.append(check("chaos commands accepted", errs == 0,
                     f"reload errors {ch.get('reload_errors', 0)}, admin errors {ch.get('admin_errors', 0)}, "
                     f"chaos errors {ch.get('chaos_errors', 0)}"))
    return out


def rates(res):
    secs = max(1e-9, res["load_s"])
    c = res["counts"]
    out = {}
    for k in ECHO_KINDS:
        d = c.get(k, {})
        out[k] = {"sessions_per_s": d.get("connections", 0) / secs, "mib_per_s": d.get("checked_bytes", 0) / secs / 2**20}
    for kind in ("redis", "pg"):
        runs = [x for x in res["runs"].get(kind, []) if x["ok"]]
        busy = sum(x["secs"] for x in runs)
        out[kind] = {"runs": len(res["runs"].get(kind, [])), "ops": sum(x["requests"] for x in runs),
                     "ops_per_s_running": sum(x["requests"] for x in runs) / busy if busy else 0.0,
                     "ops_per_s_overall": sum(x["requests"] for x in runs) / secs}
    return out


BLOCKS = "▁▂▃▄▅▆▇█"


def spark(values, width=60):
    if not values:
        return ""
    n = len(values)
    cols = [values[int(i * n / width):max(int(i * n / width) + 1, int((i + 1) * n / width))] for i in range(min(width, n))]
    pts = [sum(c) / len(c) for c in cols]
    lo, hi = min(pts), max(pts)
    return "".join(BLOCKS[0 if hi == lo else int((p - lo) / (hi - lo) * (len(BLOCKS) - 1))] for p in pts)


def svg(res):
    samples = res["samples"]
    if not samples:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n'
    panels = [("rss_kib", "sluice RSS, KiB", res["rss"]), ("fds", "sluice open fds", res["fds"]),
              ("sessions_current", "sluice sessions now", None)]
    left, width, ph, gap, top = 70, 640, 120, 40, 36
    tmax = max(s["t"] for s in samples) or 1
    wu = res["warmup_s"]
    H = top + len(panels) * (ph + gap) + 10
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{H}" font-family="sans-serif" font-size="11">',
         '<rect width="100%" height="100%" fill="white"/>',
         f'<text x="10" y="18" font-size="14" font-weight="bold">sluice soak {res["duration_s"] / 60:.0f} min at {res["commit"]} '
         f'— {res["date"]} (grey: warm-up; red: least-squares fit)</text>']
    for i, (key, title, tr) in enumerate(panels):
        y0 = top + i * (ph + gap) + 14
        ys = [s[key] for s in samples]
        lo, hi = min(ys), max(ys)
        if hi == lo:
            hi = lo + 1
        pad = (hi - lo) * 0.1
        lo, hi = max(0, lo - pad), hi + pad
        X = lambda t: left + width * t / tmax  # noqa: E731
        Y = lambda v: y0 + ph - ph * (v - lo) / (hi - lo)  # noqa: E731
        o.append(f'<text x="{left}" y="{y0 - 4}" font-weight="bold">{title}</text>')
        o.append(f'<rect x="{left}" y="{y0}" width="{X(min(wu, tmax)) - left:.1f}" height="{ph}" fill="#eee"/>')
        o.append(f'<rect x="{left}" y="{y0}" width="{width}" height="{ph}" fill="none" stroke="#999"/>')
        for v in (lo, (lo + hi) / 2, hi):
            o.append(f'<text x="{left - 4}" y="{Y(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
        pts = " ".join(f"{X(s['t']):.1f},{Y(s[key]):.1f}" for s in samples)
        o.append(f'<polyline points="{pts}" fill="none" stroke="#1c7ed6" stroke-width="1.2"/>')
        if tr and tr["n"] >= 2:
            a, b = tr["slope_per_min"], tr["intercept"]
            t1, t2 = wu, tmax
            o.append(f'<line x1="{X(t1):.1f}" y1="{Y(a * t1 / 60 + b):.1f}" x2="{X(t2):.1f}" y2="{Y(a * t2 / 60 + b):.1f}" '
                     f'stroke="#d9480f" stroke-width="1.5"/>')
            unit = "KiB" if key == "rss_kib" else "fds"
            o.append(f'<text x="{left + width}" y="{y0 - 4}" text-anchor="end">fit {a:+.2f} {unit}/min, '
                     f'bound {tr["bound"]:,} {unit}</text>')
        for m in range(0, int(tmax / 60) + 1, max(1, int(tmax / 60 / 10))):
            o.append(f'<text x="{X(m * 60):.1f}" y="{y0 + ph + 12}" text-anchor="middle">{m} min</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def num(v):
    return f"{v:,}" if isinstance(v, (int, float)) else str(v)


def write(res, out):
    with open(os.path.join(out, "soak.svg"), "w") as f:
        f.write(svg(res))
    cs = res["checks"]
    failed = [c for c in cs if not c["ok"]]
    rt = rates(res)
    c = res["counts"]
    ch = res["chaos"]
    L = [f"# sluice soak — {res['date']}", "",
         f"**{'PASSED' if not failed else 'FAILED: ' + ', '.join(x['name'] for x in failed)}.** "
         f"Commit `{res['commit']}`{' (with uncommitted changes)' if res['dirty'] else ''} on `{res['branch']}`, "
         f"{res['sluice_version']}; load and chaos for {res['load_s']:.0f} s ({res['load_s'] / 60:.1f} min) after "
         f"{res.get('setup_s', '?')} s of setup; whole run {res['wall_s']:.0f} s. Warm-up {res['warmup_s']:.0f} s, "
         f"a sample every {res['sample_every_s']:.0f} s. The machine (2 cores, shared with other work) was "
         f"{res.get('machine_busy_pct', '?')} % busy during the load (load average at the end "
         f"{' '.join(res.get('loadavg_end', []))}); sluice used {res.get('sluice_cpu_s', '?')} CPU-seconds. Produced by `make soak SOAK_SECONDS={res['duration_s']:.0f}` "
         f"(bench/soak.py), seed {res.get('seed', '?')}, chaos kinds "
         f"{','.join(res.get('chaos_kinds', []))}; raw data in [soak.json](soak.json).", "",
         "## Checks", "", "| check | result | figures |", "|---|---|---|"]
    L += [f"| {x['name']} | {'✅' if x['ok'] else '❌'} | {x['detail']} |" for x in cs]
    r, f = ({k: ("–" if v is None else v) for k, v in res[x].items()} for x in ("rss", "fds"))
    L += ["", "## Resources after warm-up", "",
          "| | fitted slope (least squares) | bound (max − min) | first → last | limit |", "|---|---|---|---|---|",
          f"| RSS | {r['slope_per_min']:+.1f} KiB/min | {num(r['bound'])} KiB | {num(r['first'])} → {num(r['last'])} KiB | "
          f"≤ {res['thresholds']['rss_kib_per_min']:g} KiB/min |",
          f"| fds | {f['slope_per_min']:+.2f} /min | {f['bound']} | {f['first']} → {f['last']} | "
          f"≤ {res['thresholds']['fds_per_min']:.2f} /min |", "",
          "![RSS, fds and sessions over time](soak.svg)", "", "```"]
    samples = res["samples"]
    for key, title in (("rss_kib", "RSS KiB"), ("fds", "fds"), ("sessions_current", "sessions")):
        ys = [s[key] for s in samples]
        if ys:
            L.append(f"{title:>9} {min(ys):>7,}..{max(ys):<7,} {spark(ys)}")
    ib, ia = res.get("idle_before") or {}, res.get("idle_after") or {}
    L += ["```", "", f"Idle before the load: RSS {ib.get('rss_kib', '?')} KiB, {ib.get('fds', '?')} fds, "
          f"{ib.get('threads', '?')} threads. Idle after it (every session closed): RSS {ia.get('rss_kib', '?')} KiB, "
          f"{ia.get('fds', '?')} fds, {ia.get('threads', '?')} threads.", "",
          "## Load mix and rates achieved", "",
          "| load | what | achieved |", "|---|---|---|",
          f"| bulk | 3 clients, echo sessions of 1-8 MiB (half sent at once, half paced over 5-20 s), every byte compared | "
          f"{c.get('bulk', {}).get('connections', 0):,} sessions ({rt['bulk']['sessions_per_s']:.2f}/s), "
          f"{rt['bulk']['mib_per_s']:.1f} MiB/s checked |",
          f"| short | 2 clients, one connection per 0.1-4 KiB echo, exact length and EOF checked | "
          f"{c.get('short', {}).get('connections', 0):,} connections ({rt['short']['sessions_per_s']:.1f}/s) |",
          f"| redis | `redis-benchmark -t set,get -n 4000 -c 4 -r 1000`, back to back, 1 s apart | {rt['redis']['runs']} runs, "
          f"{rt['redis']['ops']:,} requests ({rt['redis']['ops_per_s_running']:,.0f}/s while running, "
          f"{rt['redis']['ops_per_s_overall']:,.0f}/s overall); a run that fails within 6 s after a redis-server "
          "kill is allowed (a reset client makes redis-benchmark exit or hang until the 30 s timeout) |",
          f"| pg | `pgbench -S -c 2 -T 10 -R 150`; every third run `-C -R 20` (a connection per transaction) | "
          f"{rt['pg']['runs']} runs, {rt['pg']['ops']:,} transactions ({rt['pg']['ops_per_s_overall']:.0f}/s overall) |", "",
          "Echo sessions by outcome:", "",
          "| | verified | wrong bytes | cut by a backend kill | cut, no kill, or hung | refused, kill near | refused | of the refused: reset inside connect() | bytes sent | bytes checked |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for k in ECHO_KINDS:
        d = c.get(k, {})
        L.append(f"| {k} | {d.get('ok', 0):,} | {d.get('mismatch', 0)} | {d.get('cut_by_kill', 0)} | {d.get('cut_unexplained', 0)} | "
                 f"{d.get('nohello_kill', 0)} | {d.get('nohello', 0)} | {d.get('connect_reset', 0)} | {d.get('sent_bytes', 0):,} | "
                 f"{d.get('checked_bytes', 0):,} |")
    by = res.get("bytes", {})
    if by:
        L += ["", "Bytes as sluice counts them (`sluice_bytes_total`) against the clients' own counts (received = "
              "checked + the backends' 10-byte hellos; a session cut by a kill may leave bytes sluice read but "
              "could not deliver, so the two may differ by those):", "",
              "| pool | sluice in | clients sent | sluice out | clients received |", "|---|---|---|---|---|"]
        for k in ECHO_KINDS:
            d = c.get(k, {})
            bi = by.get(f'{{pool="{k}",direction="in"}}', 0)
            bo = by.get(f'{{pool="{k}",direction="out"}}', 0)
            L.append(f"| {k} | {bi:,.0f} | {d.get('sent_bytes', 0):,} | {bo:,.0f} | "
                     f"{d.get('checked_bytes', 0) + d.get('hello_bytes', 0):,} |")
    L += ["", "## Chaos done", "",
          "Every 2 s one event on a random server, undone a few seconds later; a reload every 5 s (the config is "
          "rewritten first: a config-only server comes and goes, weights change).", "",
          "| event | count |", "|---|---|"]
    names = [("kill_echo", "echo backend killed (SIGKILL)"), ("restart_echo", "echo backend restarted"),
             ("kill_redis", "redis-server killed (SIGKILL)"), ("restart_redis", "redis-server restarted"),
             ("check_port_closed", "health check port closed (server goes down)"),
             ("check_port_opened", "health check port opened again (server comes up)"),
             ("set_drain", "`set server … state drain`"), ("set_maint", "`set server … state maint`"),
             ("set_ready", "`set server … state ready`"), ("add_server", "`add server`"),
             ("del_server", "`del server`"), ("del_server_gone", "`del server` after a reload had dropped it"),
             ("reload_admin", "reload (admin `reload`)"), ("reload_sighup", "reload (SIGHUP)"),
             ("reload_errors", "reload errors"), ("admin_errors", "admin command errors"), ("chaos_errors", "chaos errors")]
    L += [f"| {label} | {ch.get(k, 0)} |" for k, label in names]
    downs = sum(1 for a, b in zip(samples, samples[1:]) if b["servers_down"] > a["servers_down"])
    L += ["", f"Seen by the sampler: {downs} times more servers were down than at the sample before; "
          f"at most {max((s['servers_down'] for s in samples), default=0)} servers down and "
          f"{max((s['servers_not_ready'] for s in samples), default=0)} not ready (drain/maint/removing) at once.", ""]
    lv = res.get("sluice_log_levels") or {}
    L += [f"sluice's log (`log-level warn`): " + (", ".join(f"{n:,} {k}" for k, n in sorted(lv.items())) or "empty")
          + " lines (warn: servers going down, failed connects while a backend was dead).", ""]
    if res["failures"] or res["chaos_errors"] or res["sample_errors"]:
        L += ["## Failures and errors (first ones)", ""]
        L += [f"- {x}" for x in res["failures"] + res["chaos_errors"] + res["sample_errors"]] + [""]
    if failed:
        L += ["## sluice log (tail)", "", "```", res.get("sluice_log_tail", "")[-3000:], "```", ""]
    L += ["How to read this and reproduce a failure: docs/testing.md, section Soak.", ""]
    with open(os.path.join(out, "soak.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    with open(os.path.join(d, "soak.json")) as f:
        res = json.load(f)
    res["checks"] = checks(res)
    write(res, d)
