#!/usr/bin/env python3
"""The demo's live progress: one line a second while a run goes on.

    live.py --sim URL --db NAME --hot SKU [--metrics URL]

elapsed | orders taken per channel (the channels' own count) | the hot SKU's
available in the ledger | what each channel shows of it | listings not yet in
sync | commit-to-channel lag p99 so far (the worker's histogram, all channels).
Runs until it is terminated; a failed read shows '?' instead of stopping it.
"""
import argparse
import sys
import time

from common import CHANNELS, SHORT, get_json, histogram, metrics, psql_json, quantile, fmt_s


def sample(a, t0):
    cells = {"t": f"{time.monotonic() - t0:4.0f}s"}
    try:
        state = get_json(a.sim + "/_sim/state")
        for c in state["channels"] if isinstance(state.get("channels"), list) else state["channels"].values():
            name = c["name"]
            cells["o_" + name] = str(len(c["orders"]))
            cells["s_" + name] = next((str(l["shown"]) for l in c["listings"] if l["sku"] == a.hot), "-")
    except Exception:
        pass
    try:
        row = psql_json(a.db, f"""SELECT json_build_object(
            'avail', (SELECT sum(available) FROM stocksync.stock WHERE sku = '{a.hot}'),
            'unsynced', (SELECT count(*) FROM stocksync.sync_status WHERE NOT in_sync AND channel_mode = 'live'))""")
        cells["avail"] = str(row["avail"])
        cells["unsynced"] = str(row["unsynced"])
    except Exception:
        pass
    if a.metrics:
        try:
            m = metrics(a.metrics)
            # All channels' buckets added up: one lag figure for the line.
            total = {}
            for c in CHANNELS:
                for bound, cum in histogram(m, "stocksync_ack_lag_seconds", c):
                    total[bound] = total.get(bound, 0) + cum
            cells["lag"] = fmt_s(quantile(sorted(total.items()), 0.99))
        except Exception:
            pass
    else:
        cells["lag"] = "none"
    return cells


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--hot", required=True)
    ap.add_argument("--metrics", default="")
    a = ap.parse_args()
    names = [SHORT[c] for c in CHANNELS]
    print(f"  {'time':>5} | {'orders taken: ' + ' '.join(f'{n:>4}' for n in names):<34} | {a.hot + ' ledger':>16} |"
          f" {'shown on: ' + ' '.join(f'{n:>4}' for n in names):<30} | unsynced | lag p99", flush=True)
    t0 = time.monotonic()
    while True:
        c = sample(a, t0)
        g = lambda k, w=4: f"{c.get(k, '?'):>{w}}"
        print(f"  {c['t']:>5} | {'':14}{' '.join(g('o_' + ch) for ch in CHANNELS):<20} | {g('avail', 16)} |"
              f" {'':10}{' '.join(g('s_' + ch) for ch in CHANNELS):<20} | {g('unsynced', 8)} | {c.get('lag', '?')}",
              flush=True)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t0) % 1.0))


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
