"""PostgreSQL: pgbench -S -c 16 -j 2 (read-only SELECTs) through each proxy; tps and average
latency. PostgreSQL refuses root: the cluster is created and run as the `postgres` user."""
import os
import re
import shutil

from lib import BenchError, Meter, free_port, log, run, wait_port
from scenarios import add_cpu_split, cpu_split, metric


def start_cluster(tmp, pg_bin, max_connections=200):
    """initdb and start a cluster as `postgres` in TMP/pg; returns (port, pg_ctl prefix for stop_cluster).
    Also used by the soak (bench/soak_env.py)."""
    pgdir = os.path.join(tmp, "pg")
    data = os.path.join(pgdir, "data")
    os.makedirs(data)
    os.chmod(pgdir, 0o755)
    shutil.chown(data, "postgres", "postgres")
    os.chmod(data, 0o700)
    port = free_port()
    run(["su", "postgres", "-c", f"{pg_bin}/initdb -D {data} -A trust"], timeout=120)
    ctl = f"{pg_bin}/pg_ctl -D {data} -l {data}/server.log"
    run(["su", "postgres", "-c",
         f"{ctl} -o '-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}' -w -t 60 start"],
        timeout=90)
    try:
        wait_port(port)
    except BenchError:
        stop_cluster(ctl)
        raise
    return port, ctl


def stop_cluster(ctl):
    r = run(["su", "postgres", "-c", f"{ctl} -m immediate -t 30 stop"], timeout=60, check=False)
    if r.returncode != 0:
        log(f"pg_ctl stop: {r.stdout} {r.stderr}")


def run_scenario(ctx):
    port, ctl = start_cluster(ctx.tmp, ctx.pg_bin)
    try:
        run([f"{ctx.pg_bin}/pgbench", "-i", "-s", "2", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "postgres"],
            timeout=120)
        return measure(ctx, port)
    finally:
        stop_cluster(ctl)


def parse(text):
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", text).group(1))
    lat = float(re.search(r"latency average = ([\d.]+) ms", text).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", text)
    n = int(re.search(r"number of transactions actually processed: (\d+)", text).group(1))
    return tps, lat, int(failed.group(1)) if failed else 0, n


def measure(ctx, pgport):
    names = [p.name for p in ctx.peers]
    proxies = [p.name for p in ctx.peers if p.is_proxy]
    m_tps = metric("pg_tps", "pgbench", "pgbench -S -c16 -j2", "tps", True, names)
    m_lat = metric("pg_latency", "pgbench", "pgbench -S average latency", "ms", False, names)
    m_cpu = metric("pg_cpu_us", "pgbench", "proxy CPU per transaction", "µs", False, proxies, ratio=False)
    m_fail = metric("pg_failed", "pgbench", "pgbench failed transactions", "count", False, names, ratio=False)
    m_split = cpu_split("pg", "pgbench", "pgbench -S", proxies)
    ports = {p.name: p.start([("127.0.0.1", pgport)], "pg") for p in ctx.peers}
    try:
        for r in range(ctx.runs):
            for p in ctx.peers:
                args = [f"{ctx.pg_bin}/pgbench", "-S", "-c", "16", "-j", "2", "-T", str(ctx.pg_secs), "-n",
                        "-h", "127.0.0.1", "-p", str(ports[p.name]), "-U", "postgres", "postgres"]
                try:
                    with Meter(p.pids if p.is_proxy else None) as mt:
                        out = run(args, timeout=ctx.pg_secs + 60)
                    tps, lat, failed, n = parse(out.stdout)
                except (BenchError, AttributeError, ValueError) as e:
                    log(f"pgbench {p.name} run {r + 1}: failed: {str(e)[:300]}")
                    ctx.errors.append(f"pgbench {p.name} run {r + 1}: {str(e)[:200]}")
                    continue
                m_tps["samples"][p.name].append(round(tps, 1))
                m_lat["samples"][p.name].append(lat)
                m_fail["samples"][p.name].append(failed)
                if p.is_proxy and n:
                    m_cpu["samples"][p.name].append(round(1e6 * mt.proxy_cpu / n, 2))
                    add_cpu_split(m_split, p.name, mt)
                log(f"pgbench {p.name}: {tps:.0f} tps, latency {lat} ms, failed {failed}")
    finally:
        for p in ctx.peers:
            p.stop()
    return [m_tps, m_lat, m_cpu, m_fail] + m_split
