"""Process, port and /proc helpers shared by the bench: every child is tracked and stopped by pid."""
import os
import signal
import socket
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    pass


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def raise_nofile():
    """Raise the soft fd limit to the hard one (this process and every child inherits it)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_ports(n, host="127.0.0.1"):
    """n distinct free ports (sockets held open while choosing so they differ)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_port(port, host="127.0.0.1", timeout=15.0, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"process {proc.args[0] if isinstance(proc.args, list) else proc.args} exited "
                             f"with {proc.returncode} before {host}:{port} answered")
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError as e:
            last = e
            time.sleep(0.05)
    raise BenchError(f"{host}:{port} not answering after {timeout}s ({last})")


def listening(port):
    """True when some socket listens on 127.0.0.1:port or *:port (read from /proc/net/tcp, no
    connection made: iperf3 -s -1 would take a probe connection for its one test)."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            pass
    return False


def wait_listen(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"process exited with {proc.returncode} before listening on {port}")
        time.sleep(0.02)
    raise BenchError(f"nothing listens on port {port} after {timeout}s")


class Procs:
    """Every long-running child of the bench. stop_all() is called from a finally block."""

    def __init__(self):
        self.procs = []

    def start(self, args, log_path=None, **kw):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT if log_path else subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        finally:
            if log_path:
                out.close()
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10.0):
        """Stop one child by pid: SIGTERM, then SIGKILL after the deadline. Its process group
        (it was started in a new session) is signalled too, so e.g. nginx workers go with the master."""
        if p.poll() is None:
            for target in (lambda s: os.killpg(p.pid, s), lambda s: os.kill(p.pid, s)):
                try:
                    target(sig)
                    break
                except (ProcessLookupError, PermissionError):
                    continue
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log(f"pid {p.pid} did not exit after SIGKILL")
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            try:
                self.stop(p, timeout=5.0)
            except Exception as e:  # keep stopping the others
                log(f"stopping pid {p.pid}: {e}")


def run(args, timeout, check=True, **kw):
    """Run a command to completion with a deadline; returns CompletedProcess (text)."""
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, **kw)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"timed out after {timeout}s: {' '.join(map(str, args))}") from e
    if check and r.returncode != 0:
        raise BenchError(f"exit {r.returncode}: {' '.join(map(str, args))}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return r


# ---- /proc accounting ----

def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def cpu_times(pids):
    """(utime, stime) of the given processes (all their threads), in seconds."""
    user = system = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])  # utime (field 14)
            system += int(fields[12])  # stime (field 15)
        except OSError:
            pass
    return user / CLK_TCK, system / CLK_TCK


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def fd_count(pids):
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return total


def machine_busy():
    """(busy, total) seconds of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + vals[4]  # idle + iowait
    total = sum(vals[:8])      # guest time is already in user
    return (total - idle) / CLK_TCK, total / CLK_TCK


class Meter:
    """CPU of a set of pids and of the whole machine over one measurement."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn

    def __enter__(self):
        self.c0 = cpu_times(self.pids_fn()) if self.pids_fn else (0.0, 0.0)
        self.m0 = machine_busy()
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.proxy_cpu = self.proxy_user = None
        if self.pids_fn:
            c1 = cpu_times(self.pids_fn())
            self.proxy_user = c1[0] - self.c0[0]
            self.proxy_cpu = self.proxy_user + c1[1] - self.c0[1]
        m1 = machine_busy()
        self.wall = time.monotonic() - self.t0
        self.machine_busy = m1[0] - self.m0[0]
        self.machine_total = m1[1] - self.m0[1]
        return False

    def as_dict(self):
        return {"proxy_cpu_s": self.proxy_cpu, "proxy_user_s": self.proxy_user, "machine_busy_s": round(self.machine_busy, 3),
                "machine_cpu_s": round(self.machine_total, 3), "wall_s": round(self.wall, 3)}
