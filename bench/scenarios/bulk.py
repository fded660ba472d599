"""Bulk throughput: iperf3 client -> proxy -> iperf3 server, 1 and 4 parallel streams.
Proxy CPU-seconds per GB = proxy utime+stime over the run / GB received by the server."""
import json

from lib import BenchError, Meter, log, run, wait_port, free_port
from scenarios import metric


def run_scenario(ctx):
    sport = free_port()
    srv = ctx.procs.start(["iperf3", "-s", "-p", str(sport)], log_path=f"{ctx.tmp}/iperf3-server.log")
    try:
        wait_port(sport, proc=srv)
        return measure(ctx, sport)
    finally:
        ctx.procs.stop(srv)


def measure(ctx, sport):
    names = [p.name for p in ctx.peers]
    proxies = [p.name for p in ctx.peers if p.is_proxy]
    m = {}
    for n in (1, 4):
        m[f"gbps{n}"] = metric(f"bulk{n}_gbps", "bulk", f"bulk iperf3, {n} stream{'s' if n > 1 else ''}", "Gbit/s", True, names)
        m[f"cpugb{n}"] = metric(f"bulk{n}_cpu_per_gb", "bulk", f"proxy CPU-seconds per GB, {n} stream{'s' if n > 1 else ''}", "CPU-s/GB", False, proxies, ratio=False)
        m[f"busy{n}"] = metric(f"bulk{n}_machine_busy", "bulk", f"machine busy during bulk, {n} stream{'s' if n > 1 else ''} (of 2 cores)", "%", False, names, ratio=False)
    ports = {p.name: p.start([("127.0.0.1", sport)], "bulk") for p in ctx.peers}
    try:
        for r in range(ctx.runs):
            for n in (1, 4):
                for p in ctx.peers:
                    args = ["iperf3", "-c", "127.0.0.1", "-p", str(ports[p.name]), "-t", str(ctx.bulk_secs),
                            "-P", str(n), "-J"]
                    try:
                        with Meter(p.pids if p.is_proxy else None) as mt:
                            out = run(args, timeout=ctx.bulk_secs + 30)
                        data = json.loads(out.stdout)
                        recv = data["end"]["sum_received"]
                        gbps = recv["bits_per_second"] / 1e9
                        gb = recv["bytes"] / 1e9
                    except (BenchError, ValueError, KeyError) as e:
                        log(f"bulk {p.name} P{n} run {r + 1}: failed: {str(e)[:300]}")
                        ctx.errors.append(f"bulk {p.name} {n} streams run {r + 1}: {str(e)[:200]}")
                        continue
                    m[f"gbps{n}"]["samples"][p.name].append(round(gbps, 3))
                    if p.is_proxy:
                        m[f"cpugb{n}"]["samples"][p.name].append(round(mt.proxy_cpu / gb, 4))
                    m[f"busy{n}"]["samples"][p.name].append(round(100 * mt.machine_busy / mt.machine_total, 1))
                    log(f"bulk P{n} {p.name}: {gbps:.2f} Gbit/s, proxy cpu {mt.proxy_cpu}, machine busy {100 * mt.machine_busy / mt.machine_total:.0f}%")
    finally:
        for p in ctx.peers:
            p.stop()
    return [m["gbps1"], m["gbps4"], m["cpugb1"], m["cpugb4"], m["busy1"], m["busy4"]]
