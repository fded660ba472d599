"""Redis: redis-benchmark -t set,get -c 50 through each proxy, without pipelining and with
-P 16; rps and p99 from the --csv output (redis 7: test,rps,avg,min,p50,p95,p99,max)."""
import csv
import io

from lib import BenchError, Meter, free_port, log, run, wait_port
from scenarios import add_cpu_split, cpu_split, metric


def run_scenario(ctx):
    port = free_port()
    srv = ctx.procs.start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", ctx.tmp, "--maxclients", "10000"],
                          log_path=f"{ctx.tmp}/redis.log")
    try:
        wait_port(port, proc=srv)
        return measure(ctx, port)
    finally:
        ctx.procs.stop(srv)


def parse_csv(text):
    rows = list(csv.DictReader(io.StringIO(text.strip())))
    out = {}
    for r in rows:
        out[r["test"]] = (float(r["rps"]), float(r["p99_latency_ms"]))
    if "SET" not in out or "GET" not in out:
        raise ValueError(f"unexpected redis-benchmark output: {text[:300]!r}")
    return out


def measure(ctx, rport):
    names = [p.name for p in ctx.peers]
    proxies = [p.name for p in ctx.peers if p.is_proxy]
    ms = {}
    for pl in (1, 16):
        sfx = "" if pl == 1 else ", -P 16"
        for t in ("SET", "GET"):
            ms[(pl, t, "rps")] = metric(f"redis_{t.lower()}_p{pl}_rps", "redis", f"redis-benchmark {t}{sfx}", "ops/s", True, names)
            ms[(pl, t, "p99")] = metric(f"redis_{t.lower()}_p{pl}_p99", "redis", f"redis-benchmark {t}{sfx} p99", "ms", False, names)
        ms[(pl, "cpu")] = metric(f"redis_p{pl}_cpu_us", "redis", f"proxy CPU per request{sfx}", "µs", False, proxies, ratio=False)
        ms[(pl, "split")] = cpu_split(f"redis_p{pl}", "redis", f"redis-benchmark{sfx}", proxies)
    ports = {p.name: p.start([("127.0.0.1", rport)], "redis") for p in ctx.peers}
    try:
        for r in range(ctx.runs):
            for pl in (1, 16):
                n = ctx.redis_n if pl == 1 else ctx.redis_n_pipelined
                for p in ctx.peers:
                    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(ports[p.name]), "-t", "set,get",
                            "-n", str(n), "-c", "50", "-P", str(pl), "--csv"]
                    try:
                        with Meter(p.pids if p.is_proxy else None) as mt:
                            out = run(args, timeout=120)
                        res = parse_csv(out.stdout)
                    except (BenchError, ValueError, KeyError) as e:
                        log(f"redis {p.name} P{pl} run {r + 1}: failed: {str(e)[:300]}")
                        ctx.errors.append(f"redis {p.name} -P {pl} run {r + 1}: {str(e)[:200]}")
                        continue
                    for t in ("SET", "GET"):
                        ms[(pl, t, "rps")]["samples"][p.name].append(res[t][0])
                        ms[(pl, t, "p99")]["samples"][p.name].append(res[t][1])
                    if p.is_proxy:
                        ms[(pl, "cpu")]["samples"][p.name].append(round(1e6 * mt.proxy_cpu / (2 * n), 3))
                        add_cpu_split(ms[(pl, "split")], p.name, mt)
                    log(f"redis P{pl} {p.name}: SET {res['SET'][0]:.0f}/s p99 {res['SET'][1]} ms, "
                        f"GET {res['GET'][0]:.0f}/s p99 {res['GET'][1]} ms")
    finally:
        for p in ctx.peers:
            p.stop()
    order = []
    for pl in (1, 16):
        order += [ms[(pl, "SET", "rps")], ms[(pl, "GET", "rps")], ms[(pl, "SET", "p99")], ms[(pl, "GET", "p99")]]
    order += [ms[(1, "cpu")], ms[(16, "cpu")]] + ms[(1, "split")] + ms[(16, "split")]
    return order
