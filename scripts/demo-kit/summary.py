#!/usr/bin/env python3
"""The demo's final summary from the two runs' figures (collect.py output).

    summary.py --duration 60 --hot HOODIE-BF stocksync.json polling.json
"""
import argparse
import json

from common import CHANNELS, fmt_s


def table(title, header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  " + str(r[0]).ljust(widths[0]) + "".join("  " + str(v).rjust(w) for v, w in zip(r[1:], widths[1:]))
    print(title)
    print(line(header))
    print("  " + "-" * (sum(widths) + 2 * (len(widths) - 1)))
    for r in rows:
        print(line(r))
    print()


def per_channel(run, key, source="channels"):
    if source == "channels":
        vals = [run["channels"][c].get(key) for c in CHANNELS]
    else:
        d = run["ledger"].get(key) or {}
        vals = [d.get(c, 0) for c in CHANNELS]
    return vals


def total(vals):
    nums = [v for v in vals if isinstance(v, (int, float))]
    return sum(nums) if nums else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--hot", required=True)
    ap.add_argument("live")
    ap.add_argument("peer")
    a = ap.parse_args()
    live, peer = (json.load(open(p)) for p in (a.live, a.peer))
    header = ["", *CHANNELS, "total"]

    def row(label, vals, tot=True):
        return [label, *vals, total(vals) if tot else ""]

    L = live["ledger"]
    # Units left unsold because of buffers: the hot SKU's units that the ledger
    # still has while no channel may show any (each channel's buffer keeps
    # them; Amazon's pool too). Per channel: what its own buffer withholds.
    avail = L["hot_available"] or 0
    unsold = avail if avail > 0 and (L["hot_desired"] or 0) == 0 else 0
    held = [(L.get("hot_buffer") or {}).get(c, 0) for c in CHANNELS]
    corrected = per_channel(live, "drift_corrected", "ledger")
    rows = [
        row("orders taken (channel side)", per_channel(live, "orders")),
        row(f"  {a.hot} units sold", per_channel(live, "hot_units")),
        row("units oversold (ledger)", per_channel(live, "oversold", "ledger")),
        row(f"{a.hot} kept by buffers at the end", held, tot=False)[:-1] + [unsold],
        row("lag p50 commit->channel", [fmt_s(v) for v in per_channel(live, "lag_p50")], tot=False),
        row("lag p99 commit->channel", [fmt_s(v) for v in per_channel(live, "lag_p99")], tot=False),
        row("push calls (worker)", [int(v or 0) for v in per_channel(live, "pushes")]),
        row("API calls (channel side)", per_channel(live, "api_calls")),
        row("  of which throttled", per_channel(live, "throttled")),
        row("  answered 5xx", per_channel(live, "failed_5xx")),
        row("drift corrected", corrected),
    ]
    table(f"== Summary: stocksync, {a.duration} s of Black Friday", header, rows)
    print(f"  {a.hot}: 100 in stock, 20 received, returns and a cancellation; the ledger ends at {avail} available.")
    if unsold:
        print(f"  Left unsold because of buffers: {unsold} units in the ledger that no channel may show (each")
        print("  channel's buffer holds back the same units; its total is what stayed on the shelf).")
    elif avail <= 0:
        print(f"  Left unsold because of buffers: none ({a.hot} sold out, and more: see oversold).")
    else:
        print(f"  Left unsold because of buffers: none (the channels still offered {a.hot} at the end).")
    print("  Lag: commit of a change to the channel's acknowledgement (the worker's stocksync_ack_lag_seconds;")
    print("  Amazon acknowledges a PATCH at once and applies it 30-120 s later; WooCommerce's includes its")
    print("  outage). Calls: every request the channel answered (pushes, order polls, level reads).")
    print("  Throttled: answered 429 / THROTTLED.")
    runs = L.get("reconcile_runs") or []
    for r in runs:
        print(f"  reconcile({r['channel']}): {r['listings']} listings read, {r['in_agreement']} agree, "
              f"{r['corrected']} corrected, {r['escalated']} escalated, {r['unsettled']} unsettled"
              + (f", error {r['error']}" if r.get("error") else ""))
    print(f"  verify_ledger(): {L['verify_ledger_differences']} differences; "
          f"ledger rows: {', '.join(f'{k} {v}' for k, v in sorted((L.get('ledger_rows') or {}).items()))}")
    print()

    P = peer["ledger"]
    side = []
    for c in CHANNELS:
        side.append([c, live["channels"][c]["orders"], peer["channels"][c]["orders"],
                     live["channels"][c]["hot_units"], peer["channels"][c]["hot_units"],
                     (L.get("oversold") or {}).get(c, 0), (P.get("oversold") or {}).get(c, 0)])
    side.append(["total", *[sum(r[i] for r in side) for i in range(1, 7)]])
    table("== Side by side: stocksync vs a 15-minute polling sync (same seed, same buyers, same events)",
          ["", "orders: stocksync", "polling", f"{a.hot}: stocksync", "polling", "oversold: stocksync", "polling"],
          side)
    print("  The peer is the same minute with the channels in shadow mode: each keeps the quantity it was")
    print("  given at the start (what a sync job that runs every 15 minutes leaves between two runs), while")
    print("  every order still reaches the ledger. Oversold: units of orders recorded short in the ledger")
    print(f"  (stocksync.oversold, cancelled orders left out). At the end {a.hot} is at {L['hot_available']} "
          f"with stocksync and at {P['hot_available']} with polling.")


if __name__ == "__main__":
    main()
