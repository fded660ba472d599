"""The soak's chaos, one thread: every few seconds one event on a random server, each undone a
few seconds later (kill -9 then restart; check port closed then opened; drain/maint then ready;
admin add then del), and a config reload (admin `reload`, or SIGHUP one time in four) every
RELOAD seconds. At most one echo backend is impaired (killed or failing checks) at a time and at
most one server per pool is drained, so every pool keeps servers to go to."""
import heapq
import random
import signal
import threading
import time

from lib import log


class Chaos:
    KINDS = ("kill_echo", "health_flap", "drain", "add_del", "kill_redis", "reload")

    def __init__(self, env, events, stop, interval=2.0, reload_every=5.0, seed=42, kinds=KINDS):
        self.env, self.events, self.stop = env, events, stop
        self.interval, self.reload_every = interval, reload_every
        self.rnd = random.Random(seed)
        self.pending = []  # (due, seq, label, fn)
        self.seq = 0
        self.counts = {}
        self.errors = []
        self.impaired_echo = None
        self.redis_down = False
        self.drained = {}  # pool -> server
        self.added = 0
        self.last_redis_kill = 0.0
        self.kinds = kinds
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def count(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n

    def later(self, secs, label, fn):
        self.seq += 1
        heapq.heappush(self.pending, (time.monotonic() + secs, self.seq, label, fn))

    def admin(self, line, expect_ok=True):
        try:
            reply = self.env.admin(line).strip()
        except OSError as e:
            reply = f"ERR (socket) {e}"
        if expect_ok and reply != "OK":
            self.count("admin_errors")
            if len(self.errors) < 30:
                self.errors.append(f"{time.strftime('%H:%M:%S')} `{line}` -> {reply[:200]}")
        return reply

    # ---- events ----

    def kill_echo(self):
        if self.impaired_echo is not None:
            return False
        b = self.rnd.choice(self.env.echo)
        self.impaired_echo = b.name
        self.events.killing("echo", b.incarnation)
        b.kill()
        self.count("kill_echo")

        def restart():
            b.start()
            self.impaired_echo = None
            self.count("restart_echo")
        self.later(self.rnd.uniform(1, 3), f"restart {b.name}", restart)
        return True

    def kill_redis(self):
        now = time.monotonic()
        if self.redis_down or now - self.last_redis_kill < 60:
            return False
        self.last_redis_kill = now
        b = self.rnd.choice(self.env.redis)
        self.redis_down = True
        self.events.killing("redis")
        b.kill()
        self.count("kill_redis")

        def restart():
            b.start()
            self.redis_down = False
            self.count("restart_redis")
        self.later(self.rnd.uniform(1, 3), f"restart {b.name}", restart)
        return True

    def health_flap(self):
        if self.impaired_echo is not None:
            return False
        b = self.rnd.choice(self.env.echo)
        self.impaired_echo = b.name
        b.signal(signal.SIGUSR1)
        self.count("check_port_closed")

        def reopen():
            b.signal(signal.SIGUSR2)
            self.impaired_echo = None
            self.count("check_port_opened")
        self.later(self.rnd.uniform(4, 6), f"reopen check port of {b.name}", reopen)
        return True

    def drain(self):
        pool = self.rnd.choice(("bulk", "short", "redis", "pg"))
        if pool in self.drained:
            return False
        names = {"bulk": [b.name for b in self.env.echo], "short": [b.name for b in self.env.echo],
                 "redis": [b.name for b in self.env.redis], "pg": ["pg1", "pg2"]}[pool]
        name = self.rnd.choice(names)
        state = "maint" if self.rnd.random() < 0.3 else "drain"
        self.drained[pool] = name
        self.admin(f"set server {pool}/{name} state {state}")
        self.count(f"set_{state}")

        def ready():
            self.admin(f"set server {pool}/{name} state ready")
            self.drained.pop(pool, None)
            self.count("set_ready")
        self.later(self.rnd.uniform(3, 8), f"ready {pool}/{name}", ready)
        return True

    def add_del(self):
        pool = self.rnd.choice(("bulk", "short", "redis"))
        b = self.rnd.choice(self.env.redis if pool == "redis" else self.env.echo)
        self.added += 1
        name = f"x{self.added}"
        w = self.rnd.choice((50, 100, 200))
        self.admin(f"add server {pool}/{name} 127.0.0.1:{b.port} weight {w}")
        self.count("add_server")

        def delete():
            # A reload in between drops a server added at run time when it is not in the file
            # (then the del answers an error): counted apart, not as a failure.
            reply = self.admin(f"del server {pool}/{name}", expect_ok=False)
            if reply == "OK":
                self.count("del_server")
            else:
                self.count("del_server_gone")
                if len(self.errors) < 30:
                    self.errors.append(f"{time.strftime('%H:%M:%S')} `del server {pool}/{name}` -> {reply[:200]}")
        self.later(self.rnd.uniform(2, 12), f"del {pool}/{name}", delete)
        return True

    def reload(self):
        hup = self.rnd.random() < 0.25
        reply = self.env.reload(via_signal=hup)
        self.count("reload_sighup" if hup else "reload_admin")
        if reply != "OK":
            self.count("reload_errors")
            self.errors.append(f"{time.strftime('%H:%M:%S')} reload -> {reply[:300]}")

    # ---- loop ----

    def run_due(self, everything=False):
        while self.pending and (everything or self.pending[0][0] <= time.monotonic()):
            _, _, label, fn = heapq.heappop(self.pending)
            try:
                fn()
            except Exception as e:  # a failed undo is reported, the soak goes on
                self.count("chaos_errors")
                self.errors.append(f"{time.strftime('%H:%M:%S')} {label}: {e}")
                log(f"chaos: {label}: {e}")

    def loop(self):
        actions = [(a, w) for a, w in ((self.kill_echo, 2), (self.health_flap, 2), (self.drain, 3), (self.add_del, 2),
                                       (self.kill_redis, 1)) if a.__name__ in self.kinds]
        next_event = time.monotonic() + self.interval
        next_reload = time.monotonic() + self.reload_every
        while not self.stop.is_set():
            now = time.monotonic()
            self.run_due()
            try:
                if now >= next_event and actions:
                    next_event = now + self.interval
                    for _ in range(3):
                        fn = self.rnd.choices([a for a, _ in actions], [w for _, w in actions])[0]
                        if fn():
                            break
                if now >= next_reload and "reload" in self.kinds:
                    next_reload = now + self.reload_every
                    self.reload()
            except Exception as e:
                self.count("chaos_errors")
                self.errors.append(f"{time.strftime('%H:%M:%S')} {e}")
                log(f"chaos: {e}")
            self.stop.wait(0.1)

    def start(self):
        self.thread.start()

    def finish(self):
        """After `stop`: wait for the thread, then undo everything still pending, at once."""
        self.thread.join(timeout=30)
        self.run_due(everything=True)
