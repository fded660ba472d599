"""UDP: iperf3 -u at a fixed rate (1400-byte datagrams) through each peer that balances UDP
(HAProxy 2.6 does not): datagram loss and proxy CPU-seconds per GB. iperf3 sends its control
connection over TCP on the same port, so each proxy serves that port over TCP and UDP. The
rate is one the direct path nearly carries on this machine; loss then shows what the proxy
adds. Not a target of the issue: shown so that UDP users see the numbers too."""
import json
import socket
import time

from lib import BenchError, Meter, free_port, log, run, wait_listen
from scenarios import metric

RATE = "1G"
LENGTH = 1400


def run_scenario(ctx):
    return measure(ctx, free_port())


def one(ctx, peer, port, sport):
    srv = ctx.procs.start(["iperf3", "-s", "-1", "-p", str(sport)], log_path=f"{ctx.tmp}/iperf3-udp-server.log")
    try:
        wait_listen(sport, proc=srv)
        args = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-u", "-b", RATE, "-l", str(LENGTH),
                "-t", str(ctx.bulk_secs), "-J"]
        with Meter(peer.pids if peer.is_proxy else None) as mt:
            out = run(args, timeout=ctx.bulk_secs + 30, check=False)
        try:
            data = json.loads(out.stdout)
        except ValueError as e:
            raise BenchError(f"iperf3 exit {out.returncode}, no JSON: {out.stderr[-300:]}") from e
        if "error" in data or out.returncode != 0:
            raise BenchError(f"iperf3 exit {out.returncode}: {data.get('error', '?')}")
        total = data["end"]["sum"]
        received_gb = total["bytes"] * (1 - total["lost_percent"] / 100) / 1e9
        return total["lost_percent"], received_gb, mt
    finally:
        ctx.procs.stop(srv, timeout=5)


def measure(ctx, sport):
    contenders = [p for p in ctx.peers if p.udp]
    names = [p.name for p in contenders]
    proxies = [p.name for p in contenders if p.is_proxy]
    loss = metric("udp_loss", "udp", f"UDP datagrams lost at {RATE}bit/s (iperf3 -u -l {LENGTH})", "%", False, names,
                  ratio=False)
    cpu = metric("udp_cpu_per_gb", "udp", "proxy CPU-seconds per GB, UDP", "CPU-s/GB", False, proxies, ratio=False)
    # Readiness probes connect over TCP to the backend port: hold a listener there meanwhile
    # (as bulk does), so no probe is taken by the one-off iperf3 server as its one test.
    stand_in = socket.socket()
    stand_in.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    stand_in.bind(("127.0.0.1", sport))
    stand_in.listen(64)
    try:
        ports = {p.name: p.start([("127.0.0.1", sport)], "udp") for p in contenders}
        time.sleep(0.5)
    finally:
        stand_in.close()
    time.sleep(0.5)
    try:
        for r in range(ctx.runs):
            for p in contenders:
                try:
                    lost, gb, mt = one(ctx, p, ports[p.name], sport)
                except (BenchError, ValueError, KeyError) as e:
                    log(f"udp {p.name} run {r + 1}: failed: {str(e)[:300]}")
                    ctx.errors.append(f"udp {p.name} run {r + 1}: {str(e)[:200]}")
                    continue
                loss["samples"][p.name].append(round(lost, 2))
                if p.is_proxy and gb > 0:
                    cpu["samples"][p.name].append(round(mt.proxy_cpu / gb, 4))
                log(f"udp {p.name}: lost {lost:.1f}%, proxy cpu {mt.proxy_cpu or 0:.2f}s")
    finally:
        for p in contenders:
            p.stop()
    return [loss, cpu]
