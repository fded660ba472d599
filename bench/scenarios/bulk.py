"""Bulk throughput: iperf3 client -> proxy -> iperf3 server, 1 and 4 parallel streams.
Proxy CPU-seconds per GB = proxy utime+stime over the run / GB received by the server.
A fresh one-off server (`iperf3 -s -1`) serves each measurement, so one failed test cannot
leave a busy server behind for the next ones; a failed measurement is retried once."""
import json
import socket
import time

from lib import BenchError, Meter, free_port, log, run, wait_listen
from scenarios import add_cpu_split, cpu_split, metric


def run_scenario(ctx):
    return measure(ctx, free_port())


def iperf3(ctx, peer, port, sport, extra):
    """One iperf3 client run through `peer` against a fresh one-off server on `sport`;
    returns iperf3's JSON and the Meter of the run."""
    srv = ctx.procs.start(["iperf3", "-s", "-1", "-p", str(sport)], log_path=f"{ctx.tmp}/iperf3-server.log")
    try:
        wait_listen(sport, proc=srv)
        args = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(ctx.bulk_secs), "-J"] + extra
        with Meter(peer.pids if peer.is_proxy else None) as mt:
            out = run(args, timeout=ctx.bulk_secs + 30, check=False)
        try:
            data = json.loads(out.stdout)
        except ValueError as e:
            raise BenchError(f"iperf3 exit {out.returncode}, no JSON: {out.stderr[-300:]}") from e
        if "error" in data or out.returncode != 0:
            raise BenchError(f"iperf3 exit {out.returncode}: {data.get('error', '?')}")
        return data, mt
    finally:
        ctx.procs.stop(srv, timeout=5)


def one(ctx, peer, port, sport, n):
    data, mt = iperf3(ctx, peer, port, sport, ["-P", str(n)])
    recv = data["end"]["sum_received"]
    return recv["bits_per_second"] / 1e9, recv["bytes"] / 1e9, mt


def start_peers(peers, sport, tag):
    """Starts `peers` in front of the iperf3 port; returns each one's client port.
    Each proxy's readiness probe becomes a session to the backend port. Hold a plain listener
    there meanwhile: with nothing listening, a proxy would retry the connect a moment later
    and the retry would be taken by the one-off iperf3 server as its one test."""
    stand_in = socket.socket()
    stand_in.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    stand_in.bind(("127.0.0.1", sport))
    stand_in.listen(64)
    try:
        ports = {p.name: p.start([("127.0.0.1", sport)], tag) for p in peers}
        time.sleep(0.5)
    finally:
        stand_in.close()
    time.sleep(0.5)
    return ports


def measure(ctx, sport):
    names = [p.name for p in ctx.peers]
    proxies = [p.name for p in ctx.peers if p.is_proxy]
    m = {}
    for n in (1, 4):
        m[f"gbps{n}"] = metric(f"bulk{n}_gbps", "bulk", f"bulk iperf3, {n} stream{'s' if n > 1 else ''}", "Gbit/s", True, names)
        m[f"cpugb{n}"] = metric(f"bulk{n}_cpu_per_gb", "bulk", f"proxy CPU-seconds per GB, {n} stream{'s' if n > 1 else ''}", "CPU-s/GB", False, proxies, ratio=False)
        m[f"busy{n}"] = metric(f"bulk{n}_machine_busy", "bulk", f"machine busy during bulk, {n} stream{'s' if n > 1 else ''} (of 2 cores)", "%", False, names, ratio=False)
    m["split4"] = cpu_split("bulk4", "bulk", "bulk, 4 streams", proxies)
    ports = start_peers(ctx.peers, sport, "bulk")
    try:
        for r in range(ctx.runs):
            for n in (1, 4):
                for p in ctx.peers:
                    res = None
                    for attempt in (1, 2):
                        try:
                            res = one(ctx, p, ports[p.name], sport, n)
                            break
                        except (BenchError, ValueError, KeyError) as e:
                            log(f"bulk {p.name} P{n} run {r + 1} attempt {attempt}: failed: {str(e)[:300]}")
                            ctx.errors.append(f"bulk {p.name} {n} streams run {r + 1} attempt {attempt}: {str(e)[:200]}")
                    if res is None:
                        continue
                    gbps, gb, mt = res
                    m[f"gbps{n}"]["samples"][p.name].append(round(gbps, 3))
                    if p.is_proxy:
                        m[f"cpugb{n}"]["samples"][p.name].append(round(mt.proxy_cpu / gb, 4))
                        if n == 4:
                            add_cpu_split(m["split4"], p.name, mt)
                    m[f"busy{n}"]["samples"][p.name].append(round(100 * mt.machine_busy / mt.machine_total, 1))
                    log(f"bulk P{n} {p.name}: {gbps:.2f} Gbit/s, proxy cpu {mt.proxy_cpu or 0:.2f}s, "
                        f"machine busy {100 * mt.machine_busy / mt.machine_total:.0f}%")
    finally:
        for p in ctx.peers:
            p.stop()
    return [m["gbps1"], m["gbps4"], m["cpugb1"], m["cpugb4"], m["busy1"], m["busy4"]] + m["split4"]
