"""Idle sessions: open N client connections through the proxy (clients spread over source
addresses 127.0.0.2.., bound before connect) to a backend that holds them (8 backend ports,
so the proxy's own connections spread too); report the proxy's RSS and fd growth per session."""
import os
import socket
import sys
import time

from lib import BenchError, fd_count, free_ports, log, rss_kib, wait_port
import peers as peers_mod

BACKEND_PORTS = 8
PER_SOURCE = 5000
BATCH = 500
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def holder_count(path):
    try:
        with open(path) as f:
            return int(f.read() or 0)
    except (OSError, ValueError):
        return -1


def wait_count(path, want, timeout):
    deadline = time.monotonic() + timeout
    c = holder_count(path)
    while time.monotonic() < deadline:
        c = holder_count(path)
        if c == want:
            return c
        time.sleep(0.1)
    raise BenchError(f"backend holds {c} connections, expected {want} after {timeout}s")


IP_BIND_ADDRESS_NO_PORT = 24  # linux/in.h: pick the source port at connect, per 4-tuple
_next_source = [2]


def open_clients(port, n, status, base=0):
    """Connect n clients in batches, each batch once the backend holds the previous one, so no
    accept queue overflows (a dropped SYN costs a 1 s retransmit and would only measure that)."""
    socks = []
    # Fresh source addresses for every batch of clients: the TIME_WAIT sockets left by the
    # previous peer's sessions then never collide with this one's.
    first = _next_source[0]
    _next_source[0] = 2 + (first - 2 + n // PER_SOURCE + 1) % 240
    try:
        while len(socks) < n:
            for _ in range(min(BATCH, n - len(socks))):
                i = len(socks)
                s = socket.socket()
                s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((f"127.0.0.{2 + (first - 2 + i // PER_SOURCE) % 240}", 0))
                s.settimeout(10)
                s.connect(("127.0.0.1", port))
                socks.append(s)
            wait_count(status, base + len(socks), 30)
    except (OSError, BenchError) as e:
        close_all(socks)
        raise BenchError(f"client connect #{len(socks) + 1} of {n}: {e}") from e
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def run_scenario(ctx):
    cap = peers_mod.max_idle_sessions()
    counts = []
    for want in ctx.idle_targets:
        n = min(want, cap)
        if n != want:
            ctx.notes.append(f"idle: {want:,} sessions asked, {n:,} held: the fd hard limit here is {ctx.nofile:,} "
                             f"(`ulimit -Hn`; no CAP_SYS_RESOURCE to raise it) and a proxy needs 2 fds per session.")
        if n not in counts:
            counts.append(n)
    ports = free_ports(BACKEND_PORTS)
    status = os.path.join(ctx.tmp, "holder.status")
    holder = ctx.procs.start([sys.executable, os.path.join(HERE, "holder.py"), status] + [str(p) for p in ports],
                             log_path=f"{ctx.tmp}/holder.log")
    out = []
    try:
        for p in ports:
            wait_port(p, proc=holder)
        wait_count(status, 0, 10)  # the readiness probes above have been closed
        backends = [("127.0.0.1", p) for p in ports]
        for n in counts:
            for peer in ctx.peers:
                if not peer.is_proxy:
                    continue
                try:
                    out.append(measure_one(ctx, peer, backends, status, n))
                except BenchError as e:
                    log(f"idle {peer.name} {n}: failed: {e}")
                    ctx.errors.append(f"idle {peer.name} {n}: {str(e)[:300]}")
                    out.append({"peer": peer.name, "sessions": n, "error": str(e)[:300]})
    finally:
        ctx.procs.stop(holder)
    return out


def measure_one(ctx, peer, backends, status, n):
    port = peer.start(backends, f"idle{n}")
    socks = []
    try:
        warm = open_clients(port, 100, status)  # first sessions: lazily made thread/slab state is not per-session cost
        wait_count(status, 100, 30)
        close_all(warm)
        wait_count(status, 0, 30)
        time.sleep(0.5)
        pids = peer.pids()
        rss0, fd0 = rss_kib(pids), fd_count(pids)
        t0 = time.monotonic()
        socks = open_clients(port, n, status)
        wait_count(status, n, 60 + n / 1000)
        setup = time.monotonic() - t0
        time.sleep(1.0)
        pids = peer.pids()
        rss1, fd1 = rss_kib(pids), fd_count(pids)
        close_all(socks)
        socks = []
        wait_count(status, 0, 60)
        time.sleep(0.5)
        fd2, rss2 = fd_count(peer.pids()), rss_kib(peer.pids())
        r = {"peer": peer.name, "sessions": n, "rss_before_kib": rss0, "rss_held_kib": rss1, "rss_after_close_kib": rss2,
             "fds_before": fd0, "fds_held": fd1, "fds_after_close": fd2,
             "rss_kib_per_session": round((rss1 - rss0) / n, 3), "fds_per_session": round((fd1 - fd0) / n, 3),
             "setup_s": round(setup, 2)}
        log(f"idle {peer.name} {n}: {r['rss_kib_per_session']} KiB/session, {r['fds_per_session']} fds/session, "
            f"fds after close {fd2 - fd0:+d}, rss after close {rss2 - rss0:+d} KiB")
        return r
    finally:
        close_all(socks)
        peer.stop()
