def run_scenario(ctx): return []
