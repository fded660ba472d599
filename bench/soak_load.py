"""The soak's traffic, each kind in its own threads until `stop` is set:
- bulk: echo sessions of 1-8 MiB, half sent at once, half paced over 5-20 s (so they live through
  drains, deletions and reloads); every byte that comes back is compared with what was sent;
- short: one connection per 0.1-4 KiB exchange, checked the same way (exact length, then EOF);
- redis-benchmark (SET/GET, -c 4) and pgbench (-S, rate-limited) in short runs, back to back.
A session's first 10 bytes are the echo backend's hello (its incarnation, see soak_echo.py): a
session cut short is explained only when that incarnation was killed by the chaos."""
import csv
import io
import random
import re
import select
import socket
import subprocess
import threading
import time

HELLO_LEN = 10


class Events:
    """What the chaos did that may legitimately break a session: killed echo incarnations and
    kill times (echo and redis), for the clients to explain what they saw."""

    def __init__(self):
        self.lock = threading.Lock()
        self.killed = {}  # incarnation -> time
        self.kill_times = {"echo": [], "redis": []}

    def killing(self, kind, incarnation=None):
        """Called just before SIGKILL."""
        with self.lock:
            now = time.monotonic()
            if incarnation is not None:
                self.killed[incarnation] = now
            self.kill_times[kind].append(now)

    def was_killed(self, incarnation):
        with self.lock:
            return incarnation in self.killed

    def kill_between(self, kind, t0, t1):
        with self.lock:
            return any(t0 <= t <= t1 for t in self.kill_times[kind])


class Tally:
    """Per-kind outcome counts and the first failures, for the report."""

    KEYS = ("connections", "ok", "checked_bytes", "sent_bytes", "mismatch", "cut_by_kill", "cut_unexplained",
            "nohello_kill", "nohello", "connect_error", "hello_bytes", "connect_reset")

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.runs = {}

    def add(self, kind, key, n=1):
        with self.lock:
            d = self.counts.setdefault(kind, dict.fromkeys(self.KEYS, 0))
            d[key] += n

    def fail(self, kind, text):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(f"{time.strftime('%H:%M:%S')} {kind}: {text}")

    def run(self, kind, **fields):
        with self.lock:
            self.runs.setdefault(kind, []).append(fields)


def echo_session(kind, port, payload, tally, events, pace=None):
    """One echo session through sluice; checks every byte. pace: (chunk, seconds between)."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
    except ConnectionResetError:
        # sluice accepted, then reset us (every connect attempt failed) before connect() returned:
        # a session sluice counted, refused; classified below like one closed before the hello.
        tally.add(kind, "connections")
        tally.add(kind, "connect_reset")
        classify_refusal(kind, tally, events, t0, time.monotonic())
        return
    except OSError as e:
        tally.add(kind, "connect_error")
        tally.fail(kind, f"connect to sluice failed: {e}")
        return
    tally.add(kind, "connections")
    n = len(payload)
    sent = recvd = 0
    got_hello = b""
    incarnation = None
    err = None
    next_send = last_progress = t0
    step = pace[0] if pace else 65536
    try:
        s.setblocking(False)
        while True:
            want_w = sent < n and time.monotonic() >= next_send
            r, w, _ = select.select([s], [s] if want_w else [], [], 0.05 if sent < n else 1.0)
            if r or w:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > 30:
                err = "no data for 30 s"
                break
            if w:
                try:
                    k = s.send(payload[sent:sent + step])
                except BlockingIOError:
                    k = 0
                sent += k
                if pace and k:
                    next_send = time.monotonic() + pace[1]
                if sent >= n:
                    s.shutdown(socket.SHUT_WR)
            if r:
                try:
                    data = s.recv(262144)
                except BlockingIOError:
                    continue
                if not data:
                    break
                if len(got_hello) < HELLO_LEN:
                    take = HELLO_LEN - len(got_hello)
                    got_hello += data[:take]
                    data = data[take:]
                    if len(got_hello) == HELLO_LEN:
                        if got_hello[:1] != b"H" or not got_hello[1:9].isdigit():
                            err = f"bad hello {got_hello!r}"
                            tally.add(kind, "mismatch")
                            break
                        incarnation = int(got_hello[1:9])
                if data:
                    if recvd + len(data) > n or data != payload[recvd:recvd + len(data)]:
                        off = next((i for i, (a, b) in enumerate(zip(data, payload[recvd:])) if a != b), len(data))
                        err = f"wrong byte at offset {recvd + off} of {n} (got {len(data)} bytes at {recvd})"
                        tally.add(kind, "mismatch")
                        break
                    recvd += len(data)
    except OSError as e:
        err = f"{type(e).__name__}: {e}"
    finally:
        s.close()
    tally.add(kind, "sent_bytes", sent)
    tally.add(kind, "checked_bytes", recvd)
    tally.add(kind, "hello_bytes", len(got_hello))
    if err and err.startswith(("wrong byte", "bad hello")):
        tally.fail(kind, f"{err} (incarnation {incarnation}, sent {sent})")
        return
    if recvd == n and err is None:
        tally.add(kind, "ok")
        return
    t1 = time.monotonic()
    what = err or "EOF"
    if incarnation is None:
        classify_refusal(kind, tally, events, t0, t1)
        return
    if err == "no data for 30 s":
        # A kill ends a session at once (reset or EOF); one left hanging is sluice's fault.
        tally.add(kind, "cut_unexplained")
        tally.fail(kind, f"session hung after {recvd} of {n} bytes: no data for 30 s (incarnation {incarnation}, "
                         f"killed: {events.was_killed(incarnation)})")
    elif events.was_killed(incarnation):
        tally.add(kind, "cut_by_kill")
    else:
        tally.add(kind, "cut_unexplained")
        tally.fail(kind, f"session cut after {recvd} of {n} bytes ({what}); incarnation {incarnation} was not killed")


# A kill can refuse sessions for a while after it: the dead port is tried (and, with servers
# added or configured twice on it, every retry may land there) until checks mark it down or
# the process is back, 1-3 s later; checks need up to 2-3 s. 6 s covers both.
KILL_SHADOW = 6.0


def classify_refusal(kind, tally, events, t0, t1):
    """A session closed before a backend greeted it: refused by sluice (connect-failed), or a
    backend killed with it in its backlog. Counted as explained when a kill was near."""
    if events.kill_between("echo", t0 - KILL_SHADOW, t1 + 0.5):
        tally.add(kind, "nohello_kill")
    else:
        tally.add(kind, "nohello")


def bulk_loop(port, stop, tally, events, seed, rate_bps):
    rnd = random.Random(seed)
    while not stop.is_set():
        n = rnd.randint(1 << 20, 8 << 20)
        payload = rnd.randbytes(n)
        t0 = time.monotonic()
        if rnd.random() < 0.5:
            secs = rnd.uniform(5, 20)
            chunk = 16384
            echo_session("bulk", port, payload, tally, events, pace=(chunk, secs * chunk / n))
        else:
            echo_session("bulk", port, payload, tally, events)
        # Average rate per thread about rate_bps: rest after a fast session.
        rest = n / rate_bps - (time.monotonic() - t0)
        if rest > 0:
            stop.wait(rest)


def short_loop(port, stop, tally, events, seed, per_second):
    rnd = random.Random(seed)
    while not stop.is_set():
        t0 = time.monotonic()
        echo_session("short", port, rnd.randbytes(rnd.randint(100, 4096)), tally, events)
        rest = 1.0 / per_second - (time.monotonic() - t0)
        if rest > 0:
            stop.wait(rest)


_children = set()
_children_lock = threading.Lock()


def run_cmd(args, timeout):
    """Run a load generator to completion; it is tracked so kill_children() can end it early."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         text=True, start_new_session=True)
    with _children_lock:
        _children.add(p)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, f"timeout after {timeout}s; {err}"
    finally:
        with _children_lock:
            _children.discard(p)


def kill_children():
    with _children_lock:
        for p in list(_children):
            try:
                p.kill()
            except OSError:
                pass


def redis_loop(port, stop, tally, events):
    while not stop.is_set():
        t0 = time.monotonic()
        rc, out, err = run_cmd(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get",
                                "-n", "4000", "-c", "4", "-r", "1000", "--csv"], timeout=30)
        t1 = time.monotonic()
        rps = {}
        try:
            for row in csv.DictReader(io.StringIO(out.strip())):
                rps[row["test"]] = float(row["rps"])
        except (KeyError, ValueError):
            pass
        ok = rc == 0 and "SET" in rps and "GET" in rps
        # redis-benchmark does not survive a reset connection: it exits, or (a reset while
        # writing) drops the client and waits forever for its replies, until our timeout.
        explained = not ok and events.kill_between("redis", t0 - KILL_SHADOW, t1)
        tally.run("redis", ok=ok, explained=explained, secs=t1 - t0, requests=8000 if ok else 0,
                  start=time.strftime("%H:%M:%S", time.localtime(time.time() - (time.monotonic() - t0))),
                  rps=rps, error=None if ok else f"exit {rc}: {(err or out)[-300:]}")
        if not ok and not explained:
            tally.fail("redis", f"redis-benchmark exit {rc}: {(err or out).strip()[-300:]}")
        stop.wait(1.0)


def pg_loop(pg_bin, port, stop, tally, seconds=10):
    i = 0
    while not stop.is_set():
        i += 1
        # Every third run opens a new connection per transaction (-C): session churn.
        reconnect = i % 3 == 0
        args = [f"{pg_bin}/pgbench", "-S", "-n", "-c", "2", "-j", "1", "-T", str(seconds),
                "-R", "20" if reconnect else "150", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "postgres"]
        if reconnect:
            args.insert(1, "-C")
        t0 = time.monotonic()
        rc, out, err = run_cmd(args, timeout=seconds + 60)
        m = re.search(r"number of transactions actually processed: (\d+)", out or "")
        failed = re.search(r"number of failed transactions: (\d+)", out or "")
        tps = re.search(r"tps = ([\d.]+)", out or "")
        n = int(m.group(1)) if m else 0
        nfail = int(failed.group(1)) if failed else 0
        ok = rc == 0 and m is not None and nfail == 0
        tally.run("pg", ok=ok, explained=False, secs=time.monotonic() - t0, requests=n, reconnect=reconnect,
                  tps=float(tps.group(1)) if tps else 0.0, error=None if ok else f"exit {rc}: {(err or out)[-300:]}")
        if not ok:
            tally.fail("pg", f"pgbench exit {rc}, failed {nfail}: {(err or out).strip()[-300:]}")
        stop.wait(0.5)


def start(env, stop, tally, events, seed=42):
    """All client threads; returns them (joined by the caller after `stop`)."""
    threads = []

    def go(fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        threads.append(t)

    for i in range(3):
        go(bulk_loop, env.listen["bulk"], stop, tally, events, seed * 1000 + i, 2 << 20)
    for i in range(2):
        go(short_loop, env.listen["short"], stop, tally, events, seed * 1000 + 100 + i, 25)
    go(redis_loop, env.listen["redis"], stop, tally, events)
    go(pg_loop, env.pg_bin, env.listen["pg"], stop, tally)
    return threads
