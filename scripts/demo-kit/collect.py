#!/usr/bin/env python3
"""One run's figures, as JSON on stdout, read once the run is over and every
channel's orders are in the ledger:

    collect.py --sim URL --db NAME --hot SKU --report FILE.sql [--metrics URL] --mode MODE

- the channels' side (the simulator's /_sim/state): orders taken, hot-SKU units
  sold, API calls answered, throttled answers, 5xx, buyers who found nothing;
- the worker's /metrics: commit-to-channel lag p50 and p99 per channel;
- the ledger (report.sql): orders recorded, units oversold, held back, drift.
"""
import argparse
import json
import subprocess

from common import CHANNELS, get_json, histogram, metrics, quantile


def channel_side(state, hot):
    chans = state["channels"]
    chans = chans if isinstance(chans, list) else list(chans.values())
    out = {}
    for c in chans:
        orders = [o for o in c["orders"] if not o.get("cancelled")]
        out[c["name"]] = {
            "orders": len(orders),
            "cancelled": sum(1 for o in c["orders"] if o.get("cancelled")),
            "hot_units": sum(o["quantity"] for o in orders if o["sku"] == hot),
            # Every request the channel answered, by operation (order polls and
            # level reads included), and how many it answered "slow down".
            "api_calls": sum(c.get("calls", {}).values()),
            "throttled": c.get("throttled", 0),
            "failed_5xx": c.get("failed", 0),
            "turned_away": c.get("buyer_arrivals_without_stock", 0),
            "hot_shown": next((l["shown"] for l in c["listings"] if l["sku"] == hot), None),
            "webhooks": {k: c.get("webhooks", {}).get(k, 0) for k in ("events", "delivered", "duplicated", "failed_attempts")},
        }
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sim", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--hot", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--metrics", default="")
    ap.add_argument("--mode", required=True)
    a = ap.parse_args()
    result = {"mode": a.mode, "channels": channel_side(get_json(a.sim + "/_sim/state", timeout=30), a.hot)}
    if a.metrics:
        m = metrics(a.metrics)
        for c in CHANNELS:
            h = histogram(m, "stocksync_ack_lag_seconds", c)
            result["channels"][c]["lag_p50"] = quantile(h, 0.50)
            result["channels"][c]["lag_p99"] = quantile(h, 0.99)
            result["channels"][c]["acks"] = h[-1][1] if h else 0
            result["channels"][c]["pushes"] = m.get(("stocksync_pushes_total", f'channel="{c}"'), 0)
    out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-v", f"hot={a.hot}", "-d", a.db, "-f", a.report],
                         check=True, capture_output=True, text=True).stdout.strip()
    result["ledger"] = json.loads(out)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
