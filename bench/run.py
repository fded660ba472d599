#!/usr/bin/python3
"""sluice benchmark: direct vs sluice vs HAProxy (plain, splice) vs nginx stream, on loopback.

Usage: python3 bench/run.py [--quick] [--only bulk,connrate,...] [--runs N]
(QUICK=1 in the environment means --quick.) Writes bench/results/latest.{json,md,svg}.
Run from the repository root; sluice must be built (`swift build -c release`).
"""
import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers  # noqa: E402
import report  # noqa: E402
from lib import BenchError, Procs, log, machine_busy, raise_nofile, run  # noqa: E402
from scenarios import bulk, connrate, idle, pgbench, redis, udp  # noqa: E402

SCENARIOS = {"bulk": bulk, "connrate": connrate, "redis": redis, "pgbench": pgbench, "udp": udp, "idle": idle}
PG_BIN = "/usr/lib/postgresql/15/bin"


class Ctx:
    pass


def first_line(args):
    try:
        r = run(args, timeout=10, check=False)
        text = (r.stdout + r.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except Exception as e:
        return f"unavailable ({e})"


def versions():
    v = {
        "sluice": first_line([peers.SLUICE_BIN, "--version"]),
        "haproxy": first_line(["haproxy", "-v"]),
        "nginx": first_line(["nginx", "-v"]),
        "iperf3": first_line(["iperf3", "--version"]),
        "wrk": first_line(["wrk", "-v"]),
        "redis-server": first_line(["redis-server", "--version"]),
        "redis-benchmark": first_line(["redis-benchmark", "--version"]),
        "postgres": first_line([f"{PG_BIN}/postgres", "--version"]),
        "pgbench": first_line([f"{PG_BIN}/pgbench", "--version"]),
        "swift": first_line(["swift", "--version"]),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    return v


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024} MiB"
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu_model": model, "memory": mem,
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK", "") not in ("", "0"))
    ap.add_argument("--only", default="", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    ap.add_argument("--runs", type=int, default=0, help="runs per cell (default 2 quick, 5 full)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="directory for latest.{json,md,svg}")
    args = ap.parse_args()

    if not os.path.exists(peers.SLUICE_BIN):
        sys.exit(f"{peers.SLUICE_BIN} not found: run `swift build -c release` from the repository root first")

    ctx = Ctx()
    ctx.quick = args.quick
    ctx.runs = args.runs or (2 if ctx.quick else 5)
    ctx.bulk_secs = 2 if ctx.quick else 10
    ctx.conn_secs = 2 if ctx.quick else 10
    ctx.pg_secs = 2 if ctx.quick else 10
    ctx.redis_n = 30000 if ctx.quick else 200000
    ctx.redis_n_pipelined = 200000 if ctx.quick else 2000000
    ctx.nofile = raise_nofile()
    ctx.idle_targets = [20000] if ctx.quick else [20000, 100000]
    ctx.errors = []
    ctx.notes = []
    ctx.pg_bin = PG_BIN
    selected = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    for s in selected:
        if s not in SCENARIOS:
            sys.exit(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")

    # How busy the machine is before the bench starts anything: other people's builds show here.
    b0 = machine_busy()
    time.sleep(2)
    b1 = machine_busy()
    background_pct = round(100 * (b1[0] - b0[0]) / max(1e-9, b1[1] - b0[1]), 1)
    started = time.time()
    busy0 = machine_busy()
    ctx.procs = Procs()
    ctx.tmp = tempfile.mkdtemp(prefix="sluice-bench-")
    os.chmod(ctx.tmp, 0o755)  # nginx workers (nobody) and postgres read from here

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    results = {"quick": ctx.quick, "runs_per_cell": ctx.runs,
               "date": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
               "machine": machine(), "versions": versions(), "workers": peers.WORKERS,
               "peers": [{"name": c.name, "label": c.label} for c in peers.ALL],
               "settings": {"bulk_secs": ctx.bulk_secs, "conn_secs": ctx.conn_secs, "pg_secs": ctx.pg_secs,
                            "redis_n": ctx.redis_n, "redis_n_pipelined": ctx.redis_n_pipelined,
                            "nofile_hard_limit": ctx.nofile},
               "metrics": [], "idle": [], "errors": ctx.errors, "notes": ctx.notes}
    log(f"{'quick' if ctx.quick else 'full'} run, {ctx.runs} runs per cell, scenarios {','.join(selected)}, tmp {ctx.tmp}")
    rc = 0
    try:
        ctx.peers = [c(ctx.procs, ctx.tmp) for c in peers.ALL]
        for s in selected:
            t0 = time.monotonic()
            log(f"== {s}")
            try:
                out = SCENARIOS[s].run_scenario(ctx)
            except BenchError as e:
                log(f"{s} failed: {e}")
                ctx.errors.append(f"{s}: {str(e)[:500]}")
                rc = 1
                continue
            if s == "idle":
                results["idle"] = out
            else:
                results["metrics"] += out
            log(f"== {s} done in {time.monotonic() - t0:.0f}s")
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        rc = 130
    finally:
        ctx.procs.stop_all()
        if rc != 130:
            results["duration_s"] = round(time.time() - started, 1)
            busy1 = machine_busy()
            results["machine"]["background_busy_pct_before"] = background_pct
            results["machine"]["busy_s"] = round(busy1[0] - busy0[0], 1)
            results["machine"]["busy_pct"] = round(100 * (busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1]), 1)
            results["machine"]["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, "latest.json"), "w") as f:
                json.dump(results, f, indent=1)
            report.write(results, args.out)
            log(f"wrote {args.out}/latest.md, latest.json, latest.svg in {results['duration_s']}s")
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"kept {ctx.tmp}")
        else:
            shutil.rmtree(ctx.tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
