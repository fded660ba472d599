"""Connection rate: wrk -c50 with `Connection: close` (one request per connection) against a
small nginx http backend serving a 3-byte file on 4 ports; conn/s and p50/p99 latency."""
import os
import re

from lib import BenchError, Meter, free_ports, log, run, wait_port
from scenarios import add_cpu_split, cpu_split, metric

BACKEND_PORTS = 4


def backend_config(tmp, ports):
    listens = "\n".join(f"        listen 127.0.0.1:{p} backlog=4096;" for p in ports)
    return f"""worker_processes 2;
daemon off;
master_process on;
pid {tmp}/web.pid;
error_log {tmp}/web.err warn;
events {{ worker_connections 16384; multi_accept on; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 0;
    client_body_temp_path {tmp}/web-body;
    proxy_temp_path {tmp}/web-proxy;
    fastcgi_temp_path {tmp}/web-fastcgi;
    uwsgi_temp_path {tmp}/web-uwsgi;
    scgi_temp_path {tmp}/web-scgi;
    server {{
{listens}
        root {tmp}/www;
    }}
}}
"""


def run_scenario(ctx):
    ports = free_ports(BACKEND_PORTS)
    os.makedirs(f"{ctx.tmp}/www", exist_ok=True)
    os.chmod(f"{ctx.tmp}/www", 0o755)
    with open(f"{ctx.tmp}/www/t.txt", "w") as f:
        f.write("ok\n")
    os.chmod(f"{ctx.tmp}/www/t.txt", 0o644)
    cfg = f"{ctx.tmp}/web.conf"
    with open(cfg, "w") as f:
        f.write(backend_config(ctx.tmp, ports))
    web = ctx.procs.start(["nginx", "-p", ctx.tmp, "-e", f"{ctx.tmp}/web.err", "-c", cfg], log_path=f"{ctx.tmp}/web.log")
    try:
        for p in ports:
            wait_port(p, proc=web)
        return measure(ctx, [("127.0.0.1", p) for p in ports])
    finally:
        ctx.procs.stop(web)


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)$", v)
    if not m:
        raise ValueError(f"latency {v!r}")
    x = float(m.group(1))
    return {"us": x / 1000, "ms": x, "s": x * 1000}[m.group(2)]


def parse_wrk(text):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    n_err = sum(int(x) for x in errs.groups()) if errs else 0
    reqs = int(re.search(r"(\d+) requests in", text).group(1))
    return rps, p50, p99, n_err, int(non2xx.group(1)) if non2xx else 0, reqs


def measure(ctx, backends):
    names = [p.name for p in ctx.peers]
    proxies = [p.name for p in ctx.peers if p.is_proxy]
    m_rate = metric("conn_rate", "connrate", "short connections, wrk -c50 `Connection: close`", "conn/s", True, names)
    m_p50 = metric("conn_p50", "connrate", "short connections p50", "ms", False, names)
    m_p99 = metric("conn_p99", "connrate", "short connections p99", "ms", False, names)
    m_cpu = metric("conn_cpu_us", "connrate", "proxy CPU per connection", "µs", False, proxies, ratio=False)
    m_busy = metric("conn_machine_busy", "connrate", "machine busy during short connections (of 2 cores)", "%", False, names, ratio=False)
    m_err = metric("conn_errors", "connrate", "wrk socket errors + non-2xx (sum over the run)", "count", False, names, ratio=False)
    m_split = cpu_split("conn", "connrate", "short connections", proxies)
    ports = {p.name: p.start(backends, "conn") for p in ctx.peers}
    try:
        for r in range(ctx.runs):
            for p in ctx.peers:
                url = f"http://127.0.0.1:{ports[p.name]}/t.txt"
                args = ["wrk", "-t2", "-c50", f"-d{ctx.conn_secs}s", "--latency", "-H", "Connection: close", url]
                try:
                    with Meter(p.pids if p.is_proxy else None) as mt:
                        out = run(args, timeout=ctx.conn_secs + 30)
                    rps, p50, p99, n_err, non2xx, reqs = parse_wrk(out.stdout)
                except (BenchError, AttributeError, ValueError) as e:
                    log(f"connrate {p.name} run {r + 1}: failed: {str(e)[:300]}")
                    ctx.errors.append(f"connrate {p.name} run {r + 1}: {str(e)[:200]}")
                    continue
                m_rate["samples"][p.name].append(round(rps, 1))
                m_p50["samples"][p.name].append(round(p50, 3))
                m_p99["samples"][p.name].append(round(p99, 3))
                m_err["samples"][p.name].append(n_err + non2xx)
                m_busy["samples"][p.name].append(round(100 * mt.machine_busy / mt.machine_total, 1))
                if p.is_proxy and reqs:
                    m_cpu["samples"][p.name].append(round(1e6 * mt.proxy_cpu / reqs, 2))
                    add_cpu_split(m_split, p.name, mt)
                log(f"connrate {p.name}: {rps:.0f} conn/s p50 {p50:.2f} ms p99 {p99:.2f} ms errors {n_err}+{non2xx}")
    finally:
        for p in ctx.peers:
            p.stop()
    return [m_rate, m_p50, m_p99, m_cpu, m_busy, m_err] + m_split
