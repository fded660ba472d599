"""The soak's world: sluice, its config (rewritten for reloads), the admin socket, the echo
backends and redis-servers (killed and restarted by the chaos, each start a new incarnation),
and one PostgreSQL cluster. Everything lives in one temp dir and is a tracked child (lib.Procs)."""
import json
import os
import random
import signal
import socket
import sys
import threading
import time

from lib import BenchError, free_ports, log, run, wait_port
from scenarios import pgbench as pgscenario

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO = os.path.join(HERE, "soak_echo.py")
SLUICE_BIN = os.environ.get("SLUICE_BIN", ".build/release/sluice")
PG_BIN = "/usr/lib/postgresql/15/bin"
N_ECHO = 4


class Backend:
    """One restartable backend process (echo or redis-server) at a fixed port."""

    def __init__(self, env, name, kind, port, check_port=None):
        self.env, self.name, self.kind, self.port, self.check_port = env, name, kind, port, check_port
        self.proc = None
        self.incarnation = None

    def start(self):
        env = self.env
        if self.kind == "echo":
            self.incarnation = env.next_incarnation()
            args = [sys.executable, ECHO, str(self.port), str(self.check_port), str(self.incarnation)]
        else:
            self.incarnation = None
            args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", env.tmp, "--maxclients", "1000"]
        self.proc = env.procs.start(args, log_path=os.path.join(env.tmp, f"{self.name}.log"))
        wait_port(self.port, proc=self.proc, timeout=15)

    def kill(self):
        """SIGKILL now; returns the incarnation that died (echo) so clients cut by it are explained."""
        inc = self.incarnation
        self.env.procs.stop(self.proc, sig=signal.SIGKILL)
        self.proc = None
        return inc

    def signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class Env:
    def __init__(self, procs, tmp):
        self.procs, self.tmp = procs, tmp
        self._inc = 0
        self._inc_lock = threading.Lock()
        self.sluice = None
        self.admin_path = os.path.join(tmp, "admin.sock")
        self.conf_path = os.path.join(tmp, "sluice.conf")
        self.pg_port = None
        self.pg_ctl = None
        self.pg_bin = PG_BIN
        self.variant = 0

    def next_incarnation(self):
        with self._inc_lock:
            self._inc += 1
            return self._inc

    # ---- backends ----

    def start_backends(self):
        ports = free_ports(2 * N_ECHO + 3)
        self.echo = [Backend(self, f"e{i + 1}", "echo", ports[2 * i], ports[2 * i + 1]) for i in range(N_ECHO)]
        self.redis = [Backend(self, f"r{i + 1}", "redis", ports[2 * N_ECHO + i]) for i in range(2)]
        self.listen = dict(zip(("bulk", "short", "redis", "pg"), free_ports(4)))
        for b in self.echo + self.redis:
            b.start()
        self.start_pg()

    def start_pg(self):
        self.pg_port, self.pg_ctl = pgscenario.start_cluster(self.tmp, PG_BIN, max_connections=100)
        run([f"{PG_BIN}/pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", str(self.pg_port),
             "-U", "postgres", "postgres"], timeout=120)

    def stop_pg(self):
        if self.pg_ctl:
            pgscenario.stop_cluster(self.pg_ctl)
            self.pg_ctl = None

    # ---- sluice ----

    def config(self):
        """The config for the current variant: reloads flip a config-only server in and out of
        the echo pools and move weights around, so every reload changes something. The state
        file carries the servers added at run time (and admin states) over each reload."""
        v = self.variant
        rnd = random.Random(v)
        echo = []
        for i, b in enumerate(self.echo):
            w = rnd.choice((50, 100, 150))
            echo.append(f"    server {b.name} 127.0.0.1:{b.port} weight {w} check-port {b.check_port}")
        if v % 2 == 1:
            b = self.echo[v // 2 % N_ECHO]
            echo.append(f"    server cfg{v} 127.0.0.1:{b.port} check-port {b.check_port}")
        echo = "\n".join(echo)
        redis = "\n".join(f"    server {b.name} 127.0.0.1:{b.port}" for b in self.redis)
        pgw = rnd.choice((50, 100))
        return f"""# sluice soak config, variant {v} (rewritten by bench/soak_env.py before each reload)
global
    workers 2
    maxconn 4000
    admin-socket {self.admin_path} mode 0600
    state-file {self.tmp}/state
    log-level warn
    log-sessions off
    timeout shutdown 5s

defaults
    timeout connect 2s
    retries 2
    on-down keep-sessions
    timeout drain 5m

pool bulk
    bind 127.0.0.1:{self.listen['bulk']}
    balance leastconn
    check tcp interval 1s timeout 500ms rise 2 fall 2
{echo}

pool short
    bind 127.0.0.1:{self.listen['short']}
    balance roundrobin
    check tcp interval 1s timeout 500ms rise 2 fall 2
{echo}

pool redis
    bind 127.0.0.1:{self.listen['redis']}
    balance leastconn
    check redis interval 1s timeout 500ms rise 2 fall 2
{redis}

pool pg
    bind 127.0.0.1:{self.listen['pg']}
    balance roundrobin
    check postgres interval 2s timeout 1s
    server pg1 127.0.0.1:{self.pg_port} weight {pgw}
    server pg2 127.0.0.1:{self.pg_port}
"""

    def write_config(self):
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.config())
        os.replace(tmp, self.conf_path)

    def start_sluice(self):
        self.write_config()
        r = run([SLUICE_BIN, "-c", "-f", self.conf_path], timeout=30, check=False)
        if r.returncode != 0:
            raise BenchError(f"soak config rejected: {r.stdout} {r.stderr}")
        self.sluice = self.procs.start([SLUICE_BIN, "-f", self.conf_path],
                                       log_path=os.path.join(self.tmp, "sluice.log"))
        deadline = time.monotonic() + 20
        while True:
            try:
                info = self.admin_json("show info")
                self.sluice_pid = info["pid"]
                return info
            except (OSError, ValueError, KeyError) as e:
                if self.sluice.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"sluice did not answer on its admin socket ({e}); log:\n{self.sluice_log()}")
                time.sleep(0.1)

    def sluice_log(self, n=3000):
        try:
            with open(os.path.join(self.tmp, "sluice.log"), errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def admin(self, line, timeout=10.0):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.admin_path)
            s.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        return b"".join(chunks).decode(errors="replace")

    def admin_json(self, line):
        text = self.admin(line + " json")
        if text.startswith("ERR"):
            raise ValueError(text.strip())
        return json.loads(text)

    def reload(self, via_signal=False):
        self.variant += 1
        self.write_config()
        if via_signal:
            os.kill(self.sluice.pid, signal.SIGHUP)
            return "OK"
        return self.admin("reload").strip()
