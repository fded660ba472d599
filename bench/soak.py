#!/usr/bin/python3
"""sluice soak: traffic through sluice for SOAK_SECONDS (default 600) while its servers flap,
drain, come and go and its config reloads; samples sluice's RSS, fds and counters, then checks
stability and correctness and writes bench/results/soak.{md,json,svg}. Exit 1 when a check fails.

Usage (from the repository root, sluice built with `swift build -c release`):
    SOAK_SECONDS=120 python3 bench/soak.py [--out DIR]
Thresholds: SOAK_RSS_SLOPE_MAX (KiB/min, default 64); SOAK_FD_DRIFT_MAX (fds, default 16): the
fitted fd slope times the fitted window may not exceed it (the fd count moves with the sessions
open at each sample, so a short window needs a looser per-minute bound than a long one).
SOAK_KEEP_TMP=1 keeps the temp dir (config, logs) for a post-mortem. SOAK_SEED (default 42) seeds
the chaos and the clients' payloads; SOAK_CHAOS=kill_echo,health_flap,drain,add_del,kill_redis,reload
(the default: all) picks the kinds of chaos, to narrow down a failure.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import soak_load  # noqa: E402
import soak_report  # noqa: E402
from lib import BenchError, Procs, cpu_times, log, machine_busy, raise_nofile, run  # noqa: E402
from soak_chaos import Chaos  # noqa: E402
from soak_env import SLUICE_BIN, Env  # noqa: E402
from soak_sample import Sampler, trend  # noqa: E402


def env_float(name, default):
    v = os.environ.get(name, "")
    return float(v) if v else default


def git(*args):
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return "?"


def wait_quiet(env, sampler, deadline_s=60):
    """After the clients stopped: wait until sluice reports no session and no queue anywhere."""
    deadline = time.monotonic() + deadline_s
    while True:
        s = sampler.take(record=False)
        busy = s is None or s["sessions_current"] != 0 or any(p["current"] or p["queue"] for p in s["pools"].values())
        if not busy:
            servers = env.admin_json("show servers")
            if all(x["sessions_current"] == 0 for x in servers):
                return s, servers
        if time.monotonic() > deadline or (s is None and sampler.died):
            return s, None
        time.sleep(1)


def metric_values(text, name):
    """{labels-string: value} for one metric family of a Prometheus exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            k, _, v = line.rpartition(" ")
            out[k[len(name):]] = float(v)
    return out


def log_levels(path):
    """Lines of sluice's log by level (`TIME LEVEL key=value ...`)."""
    out = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.split(None, 2)
                lvl = parts[1] if len(parts) > 1 and parts[1] in ("error", "warn", "info", "debug") else "other"
                out[lvl] = out.get(lvl, 0) + 1
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    duration = env_float("SOAK_SECONDS", 600)
    rss_max = env_float("SOAK_RSS_SLOPE_MAX", 64.0)
    fd_drift = env_float("SOAK_FD_DRIFT_MAX", 16.0)
    seed = int(env_float("SOAK_SEED", 42))
    kinds = tuple(k for k in os.environ.get("SOAK_CHAOS", ",".join(Chaos.KINDS)).split(",") if k)
    unknown = [k for k in kinds if k not in Chaos.KINDS]
    if unknown:
        sys.exit(f"SOAK_CHAOS: unknown {unknown}; known: {','.join(Chaos.KINDS)}")
    warmup = min(300.0, max(30.0, 0.2 * duration), duration / 2)
    every = max(2.0, min(10.0, duration / 300))
    if not os.path.exists(SLUICE_BIN):
        sys.exit(f"{SLUICE_BIN} not found: run `swift build -c release` first")
    raise_nofile()

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    procs = Procs()
    tmp = tempfile.mkdtemp(prefix="sluice-soak-")
    os.chmod(tmp, 0o755)  # postgres reads its data dir below it
    env = Env(procs, tmp)
    stop_load, stop_chaos, stop_sampling = threading.Event(), threading.Event(), threading.Event()
    events, tally = soak_load.Events(), soak_load.Tally()
    res = {"commit": git("rev-parse", "--short=12", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
           "branch": git("rev-parse", "--abbrev-ref", "HEAD"), "duration_s": duration, "warmup_s": warmup,
           "sample_every_s": every, "seed": seed, "chaos_kinds": list(kinds), "thresholds": {"rss_kib_per_min": rss_max, "fd_drift": fd_drift,
                                                          "fds_per_min": fd_drift / max(1e-9, (duration - warmup) / 60)},
           "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
           "sluice_version": run([SLUICE_BIN, "--version"], timeout=10, check=False).stdout.strip()}
    rc = 0
    started = time.monotonic()
    try:
        log(f"soak for {duration:.0f}s (warm-up {warmup:.0f}s, a sample every {every:.0f}s), tmp {tmp}")
        env.start_backends()
        info = env.start_sluice()
        res["setup_s"] = round(time.monotonic() - started, 1)
        log(f"sluice pid {info['pid']} up; backends: echo {[b.port for b in env.echo]}, redis "
            f"{[b.port for b in env.redis]}, postgres {env.pg_port}; listeners {env.listen}")
        t0 = time.monotonic()
        sampler = Sampler(env, t0, every, stop_sampling)
        sampler.take()
        res["idle_before"] = sampler.samples[-1] if sampler.samples else None
        sampler.start()
        chaos = Chaos(env, events, stop_chaos, seed=seed, kinds=kinds)
        threads = soak_load.start(env, stop_load, tally, events, seed=seed)
        chaos.start()
        busy0, cpu0 = machine_busy(), cpu_times([env.sluice.pid])
        next_log = t0 + 60
        while time.monotonic() - t0 < duration:
            if sampler.died:
                break
            time.sleep(1)
            if time.monotonic() >= next_log and sampler.samples:
                s = sampler.samples[-1]
                c = tally.counts
                log(f"t={s['t']:.0f}s rss {s['rss_kib']} KiB fds {s['fds']} sessions {s['sessions_current']} "
                    f"total {s['sessions_total']} | bulk ok {c.get('bulk', {}).get('ok', 0)} short ok "
                    f"{c.get('short', {}).get('ok', 0)} | chaos {sum(chaos.counts.values())} events")
                next_log += 60
        res["load_s"] = round(time.monotonic() - t0, 1)
        busy1, cpu1 = machine_busy(), cpu_times([env.sluice.pid])
        res["machine_busy_pct"] = round(100 * (busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1]), 1)
        res["sluice_cpu_s"] = round(sum(cpu1) - sum(cpu0), 1)
        res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        log("stopping chaos, then the clients")
        stop_chaos.set()
        chaos.finish()
        stop_load.set()
        for t in threads:
            t.join(timeout=90)
        res["clients_still_running"] = sum(1 for t in threads if t.is_alive())
        stop_sampling.set()
        sampler.join()
        quiet, servers = wait_quiet(env, sampler)
        res["idle_after"] = quiet
        res["servers_after"] = servers
        try:
            metrics = env.admin("show metrics")
            res["rejected"] = metric_values(metrics, "sluice_rejected_total")
            res["bytes"] = metric_values(metrics, "sluice_bytes_total")
            res["pools_after"] = env.admin_json("show pools")
        except (OSError, ValueError) as e:
            res["rejected"], res["pools_after"] = {}, None
            sampler.errors.append(f"final metrics: {e}")
        res["samples"] = sampler.samples
        res["sample_errors"] = sampler.errors[:30]
        res["sampler_died"] = sampler.died
        res["counts"], res["failures"], res["runs"] = tally.counts, tally.failures, tally.runs
        res["chaos"], res["chaos_errors"] = chaos.counts, chaos.errors
        res["reload_variants"] = env.variant
        res["rss"] = trend(sampler.samples, "rss_kib", warmup)
        res["fds"] = trend(sampler.samples, "fds", warmup)
        # A clean stop: SIGTERM, exit 0 (SPEC), as the last check.
        alive = env.sluice.poll() is None
        procs.stop(env.sluice, timeout=15)
        res["sluice_exit"] = env.sluice.returncode if alive else f"died earlier ({env.sluice.returncode})"
        res["sluice_log_tail"] = env.sluice_log(4000)
        res["sluice_log_levels"] = log_levels(os.path.join(tmp, "sluice.log"))
        res["checks"] = soak_report.checks(res)
        res["wall_s"] = round(time.monotonic() - started, 1)
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "soak.json"), "w") as f:
            json.dump(res, f, indent=1)
        soak_report.write(res, args.out)
        failed = [c for c in res["checks"] if not c["ok"]]
        for c in res["checks"]:
            log(f"{'PASS' if c['ok'] else 'FAIL'} {c['name']}: {c['detail']}")
        log(f"wrote {args.out}/soak.md, soak.json, soak.svg; {len(failed)} check(s) failed")
        rc = 1 if failed else 0
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        rc = 130
    except BenchError as e:
        log(f"soak could not run: {e}")
        rc = 2
    finally:
        stop_chaos.set()
        stop_load.set()
        stop_sampling.set()
        soak_load.kill_children()
        procs.stop_all()
        env.stop_pg()
        if os.environ.get("SOAK_KEEP_TMP"):
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
