"""Samples sluice every few seconds (RSS and threads from /proc/PID/status, fds from
/proc/PID/fd, sessions and counters from the admin socket) and fits the trend of a series."""
import threading
import time

from lib import fd_count, log


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    return out


def snapshot(env, t0):
    """One sample; raises OSError/ValueError when sluice cannot be read (gone, or not answering)."""
    pid = env.sluice.pid
    st = proc_status(pid)
    info = env.admin_json("show info")
    pools = env.admin_json("show pools")
    servers = env.admin_json("show servers")
    return {
        "t": round(time.monotonic() - t0, 2),
        "rss_kib": st["VmRSS"], "threads": st["Threads"], "fds": fd_count([pid]),
        "pid": info["pid"], "uptime": info["uptime_seconds"],
        "sessions_current": info["sessions_current"], "sessions_total": info["sessions_total"],
        "bytes_in": info["bytes_in"], "bytes_out": info["bytes_out"],
        "pools": {p["name"]: {"current": p["sessions_current"], "total": p["sessions_total"], "queue": p["queue"],
                              "up": p["servers_up"], "servers": p["servers_total"]} for p in pools},
        "servers_down": sum(1 for s in servers if s["health"] != "up"),
        "servers_not_ready": sum(1 for s in servers if s["state"] != "ready" or s["removing"]),
    }


class Sampler:
    def __init__(self, env, t0, every, stop):
        self.env, self.t0, self.every, self.stop = env, t0, every, stop
        self.samples = []
        self.errors = []
        self.died = None
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def take(self, record=True):
        """One sample (None when sluice is gone or does not answer); record=False keeps it out of
        the series (the wind-down after the load is not part of the trend)."""
        if self.env.sluice.poll() is not None:
            if self.died is None:
                self.died = f"sluice exited with {self.env.sluice.returncode} at t={time.monotonic() - self.t0:.0f}s"
                log(self.died)
            return None
        try:
            s = snapshot(self.env, self.t0)
        except (OSError, ValueError, KeyError) as e:
            self.errors.append(f"t={time.monotonic() - self.t0:.0f}s: {e}")
            return None
        if record:
            self.samples.append(s)
        return s

    def loop(self):
        next_t = time.monotonic()
        while not self.stop.is_set():
            self.take()
            next_t += self.every
            self.stop.wait(max(0.0, next_t - time.monotonic()))

    def start(self):
        self.thread.start()

    def join(self):
        self.thread.join(timeout=30)


def fit(points):
    """Least-squares line through (x, y) points: (slope, intercept); (0, mean) with < 2 points."""
    n = len(points)
    if n == 0:
        return 0.0, 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if n < 2 or sxx == 0:
        return 0.0, my
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    return slope, my - slope * mx


def trend(samples, key, warmup_s):
    """Slope per minute over the samples after warm-up, and the bound (max - min) there."""
    pts = [(s["t"] / 60.0, s[key]) for s in samples if s["t"] >= warmup_s]
    slope, icept = fit(pts)
    ys = [y for _, y in pts]
    return {"slope_per_min": slope, "intercept": icept, "n": len(pts),
            "min": min(ys) if ys else None, "max": max(ys) if ys else None,
            "bound": (max(ys) - min(ys)) if ys else None,
            "first": ys[0] if ys else None, "last": ys[-1] if ys else None}

