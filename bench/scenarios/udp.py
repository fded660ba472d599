"""UDP: iperf3 -u at a fixed rate (1400-byte datagrams) through each peer that balances UDP
(HAProxy 2.6 does not): datagram loss and proxy CPU-seconds per GB. iperf3 sends its control
connection over TCP on the same port, so each proxy serves that port over TCP and UDP. The
rate is one the direct path nearly carries on this machine; loss then shows what the proxy
adds. Not a target of the issue: shown so that UDP users see the numbers too."""
from lib import BenchError, free_port, log
from scenarios import metric
from scenarios.bulk import iperf3, start_peers

RATE = "1G"
LENGTH = 1400


def run_scenario(ctx):
    return measure(ctx, free_port())


def one(ctx, peer, port, sport):
    data, mt = iperf3(ctx, peer, port, sport, ["-u", "-b", RATE, "-l", str(LENGTH)])
    total = data["end"]["sum"]
    received_gb = total["bytes"] * (1 - total["lost_percent"] / 100) / 1e9
    return total["lost_percent"], received_gb, mt


def measure(ctx, sport):
    contenders = [p for p in ctx.peers if p.udp]
    names = [p.name for p in contenders]
    proxies = [p.name for p in contenders if p.is_proxy]
    loss = metric("udp_loss", "udp", f"UDP datagrams lost at {RATE}bit/s (iperf3 -u -l {LENGTH})", "%", False, names,
                  ratio=False)
    cpu = metric("udp_cpu_per_gb", "udp", "proxy CPU-seconds per GB, UDP", "CPU-s/GB", False, proxies, ratio=False)
    ports = start_peers(contenders, sport, "udp")
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
