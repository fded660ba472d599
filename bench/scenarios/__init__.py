"""One module per scenario; each exposes run(ctx) -> list of metric dicts (see metric())."""


def metric(mid, scenario, title, unit, higher_is_better, peers, ratio=True, note=None):
    return {"id": mid, "scenario": scenario, "title": title, "unit": unit,
            "higher_is_better": higher_is_better, "ratio_to_direct": ratio, "note": note,
            "samples": {p: [] for p in peers}}


def cpu_split(mid, scenario, what, proxies):
    """Two metrics that bound what tuning the proxy's own code can win: the user-space share
    of its CPU, and the most its rate could rise if that share cost nothing. While the machine
    is CPU-bound (machine busy ≈ 100 %), the rate is the machine's CPU over the CPU per
    operation, so dropping the proxy's user time from the latter gives
    busy / (busy − proxy user time)."""
    return [metric(f"{mid}_user_pct", scenario, f"proxy CPU in user space, {what}", "%", False, proxies, ratio=False),
            metric(f"{mid}_ceiling", scenario, f"rate bound with zero user-space proxy CPU, {what}", "× own rate",
                   True, proxies, ratio=False)]


def add_cpu_split(split, peer, mt):
    if not mt.proxy_cpu:
        return
    user_pct, ceiling = split
    user_pct["samples"][peer].append(round(100 * mt.proxy_user / mt.proxy_cpu, 1))
    ceiling["samples"][peer].append(round(mt.machine_busy / max(1e-9, mt.machine_busy - mt.proxy_user), 3))
