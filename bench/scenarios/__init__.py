"""One module per scenario; each exposes run(ctx) -> list of metric dicts (see metric())."""


def metric(mid, scenario, title, unit, higher_is_better, peers, ratio=True, note=None):
    return {"id": mid, "scenario": scenario, "title": title, "unit": unit,
            "higher_is_better": higher_is_better, "ratio_to_direct": ratio, "note": note,
            "samples": {p: [] for p in peers}}
