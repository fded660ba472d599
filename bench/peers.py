"""The contenders: direct (no proxy), sluice, HAProxy mode tcp (plain and splice), nginx stream.

Each peer writes its config into the run's temp dir, starts in the foreground as a tracked
child, and exposes the pids whose CPU, RSS and fds are the proxy's (nginx: master + workers).
Every proxy gets 2 workers/threads and leastconn over the same backend list.
"""
import os

from lib import BenchError, Procs, children, free_port, wait_port

WORKERS = 2
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"  # Debian: libnginx-mod-stream
SLUICE_BIN = os.environ.get("SLUICE_BIN", ".build/release/sluice")


class Peer:
    name = "?"
    label = "?"
    is_proxy = True
    # Can also balance UDP (tag "udp": the same port over TCP and UDP, for iperf3 -u).
    udp = False

    def __init__(self, procs: Procs, tmp: str):
        self.procs, self.tmp = procs, tmp
        self.proc = None
        self.port = None

    def pids(self):
        if self.proc is None:
            return []
        return [self.proc.pid] + children(self.proc.pid)

    def start(self, backends, tag):
        """backends: list of (host, port). Returns the port clients connect to."""
        self.port = free_port()
        cfg = os.path.join(self.tmp, f"{self.name}-{tag}.conf")
        with open(cfg, "w") as f:
            f.write(self.config(self.port, backends, tag))
        self.proc = self.procs.start(self.command(cfg, tag), log_path=os.path.join(self.tmp, f"{self.name}-{tag}.log"))
        try:
            wait_port(self.port, proc=self.proc, timeout=20)
        except BenchError as e:
            raise BenchError(f"{self.name}: {e}; log:\n{self.log_tail(tag)}") from e
        return self.port

    def log_tail(self, tag):
        try:
            with open(os.path.join(self.tmp, f"{self.name}-{tag}.log"), errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.procs.stop(self.proc)
            self.proc = None


class Direct(Peer):
    name, label, is_proxy = "direct", "direct", False
    udp = True

    def start(self, backends, tag):
        self.port = backends[0][1]
        return self.port

    def pids(self):
        return []

    def stop(self):
        pass


class Sluice(Peer):
    name, label = "sluice", "sluice"
    udp = True

    def config(self, port, backends, tag):
        servers = "\n".join(f"    server s{i} {h}:{p}" for i, (h, p) in enumerate(backends, 1))
        return f"""global
    workers {WORKERS}
    maxconn 1000000
    admin-socket none
    log-level warn
    log-sessions off
    timeout shutdown 1s

pool bench
    bind 127.0.0.1:{port}
    mode tcp
    balance leastconn
    check none
    timeout connect 5s
    timeout idle 0
    maxconn 0
{servers}
""" + (f"""
pool bench-udp
    bind 127.0.0.1:{port}
    mode udp
    balance leastconn
{servers}
""" if tag == "udp" else "")

    def command(self, cfg, tag):
        return [SLUICE_BIN, "-f", cfg]


class HAProxy(Peer):
    name, label = "haproxy", "HAProxy"
    splice = False

    def config(self, port, backends, tag):
        servers = "\n".join(f"    server s{i} {h}:{p}" for i, (h, p) in enumerate(backends, 1))
        splice = ("    option splice-auto\n    option splice-request\n    option splice-response\n"
                  if self.splice else "")
        return f"""global
    nbthread {WORKERS}
    maxconn {haproxy_maxconn()}
    maxpipes 1000

defaults
    mode tcp
    timeout connect 5s
    timeout client 30m
    timeout server 30m
{splice}
frontend fe
    bind 127.0.0.1:{port}
    default_backend be

backend be
    balance leastconn
{servers}
"""

    def command(self, cfg, tag):
        return ["haproxy", "-db", "-f", cfg]


class HAProxySplice(HAProxy):
    name, label = "haproxy-splice", "HAProxy splice"
    splice = True


class NginxStream(Peer):
    name, label = "nginx", "nginx stream"
    udp = True

    def config(self, port, backends, tag):
        servers = "\n".join(f"        server {h}:{p};" for h, p in backends)
        udp = (f"""    server {{
        listen 127.0.0.1:{port} udp;
        proxy_pass be;
        proxy_timeout 30s;
    }}
""" if tag == "udp" else "")
        return f"""load_module {NGINX_STREAM_MODULE};
worker_processes {WORKERS};
daemon off;
master_process on;
pid {self.tmp}/nginx-{tag}.pid;
error_log {self.tmp}/nginx-{tag}.err warn;
worker_rlimit_nofile {nofile_limit()};
events {{ worker_connections 500000; multi_accept on; }}
stream {{
    upstream be {{
        least_conn;
{servers}
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        proxy_pass be;
        proxy_connect_timeout 5s;
        proxy_timeout 30m;
    }}
{udp}}}
"""

    def command(self, cfg, tag):
        return ["nginx", "-p", self.tmp, "-e", f"{self.tmp}/nginx-{tag}.err", "-c", cfg]


def haproxy_maxconn():
    # HAProxy refuses to start when 2*maxconn + 2*maxpipes + listeners exceed the fd limit it
    # cannot raise (the hard limit here); leave room for 1000 pipes and some slack.
    return max(1000, (nofile_limit() - 3000) // 2)


def max_idle_sessions():
    # The most idle sessions every proxy can hold under the fd hard limit, in thousands.
    return haproxy_maxconn() // 1000 * 1000


def nofile_limit():
    import resource
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


ALL = [Direct, Sluice, HAProxy, HAProxySplice, NginxStream]
