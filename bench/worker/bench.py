#!/usr/bin/env python3
"""Helpers for bench/worker/run: simulator scenarios, the worker config, clock
calibration against the simulator, per-change lag from the simulator's listing
histories, the worker's lag histogram, call counters, and the report."""
import argparse
import json
import re
import sys
import time
import urllib.request

SECRETS = {
    "webhook": 'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"',
}
TOKEN_OPS = {"lwa_token", "oauth2/token", "not_found"}


def get(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def listing_ids(kind, i):
    """(simulator listing id, stocksync external_id) of SKU-i on a channel kind."""
    sku = f"SKU-{i}"
    if kind == "woocommerce":
        return str(100000 + i), str(100000 + i)
    if kind == "ebay":
        return sku, f"{sku}|{700000000 + i}"
    if kind == "shopify":
        return str(30000000 + i), f"gid://shopify/InventoryItem/{30000000 + i}"
    return sku, sku


def cmd_scenario(a):
    qty = {}
    if a.qty:
        for line in open(a.qty):
            if line.strip():
                s, q = line.split()
                qty[s] = int(q)
    lat = "none"
    if a.latency != "none":
        lo, hi = a.latency.split(":")
        lat = f'{{ dist = "uniform", min_ms = {lo}, max_ms = {hi} }}'
    o = ["[sim]", "seed = 1", "time_scale = 1.0", "tick_ms = 5", "", "[[channels]]",
         f'name = "{a.name}"', f'kind = "{a.kind}"']
    if a.kind == "webhook":
        o.append(SECRETS["webhook"])
    if a.kind == "amazon":
        # Its documented rate limits stay (it lists only the hot SKU here, see
        # cmd_listings_sql); a listing is applied as soon as it is accepted.
        o += ["processing_delay_min_s = 0", "processing_delay_max_s = 0"]
    if a.kind == "ebay":
        o += ["daily_quota = 100000000", "revisions_per_day = 1000000"]
    if a.kind == "shopify":
        o += ["bucket_size = 1000000", "restore_rate = 1000000"]
    for i in listed_skus(a.kind, a.nskus):
        lid, _ = listing_ids(a.kind, i)
        sku = f"SKU-{i}"
        o += ["[[channels.listings]]", f'id = "{lid}"', f'sku = "{sku}"', f"quantity = {qty.get(sku, 0)}"]
        if a.kind == "ebay":
            o.append(f'offer_id = "{700000000 + i}"')
    if lat != "none":
        o += ["[channels.faults]", f"latency = {lat}"]
    open(a.out, "w").write("\n".join(o) + "\n")


def listed_skus(kind, nskus):
    """The SKU numbers a channel lists: all, but on Amazon only the hot SKU-0. Amazon
    takes one listings PATCH per SKU at its documented 5 requests/s per seller, so
    it cannot follow 1,000 changes/s over 2,000 SKUs (no worker can); lifting that
    limit made the lag load an Amazon flood of about 800 calls/s sharing the two
    cores with everything measured."""
    return range(0, 1) if kind == "amazon" else range(0, nskus + 1)


def cmd_listings_sql(a):
    """SQL for the channels and listings of SKU-0..N."""
    for code in a.channels:
        kind = code
        print(f"INSERT INTO stocksync.channel (code, kind) VALUES ('{code}', '{kind}');")
        rows = ",".join(f"('{code}', '{listing_ids(kind, i)[1]}', 'SKU-{i}')" for i in listed_skus(kind, a.nskus))
        print(f"INSERT INTO stocksync.listing (channel, external_id, sku) VALUES {rows};")


def channel_toml(kind, url, in_flight):
    base = {"webhook": f"{url}/hooks/webhook", "woocommerce": f"{url}/woo/woocommerce",
            "amazon": f"{url}/amazon/amazon", "ebay": f"{url}/ebay/ebay", "shopify": f"{url}/shopify/shopify"}[kind]
    o = [f"[channels.{kind}]", f'kind = "{kind}"', f'base_url = "{base}"',
         f"max_in_flight = {in_flight}", "max_attempts = 20"]
    if kind != "amazon":  # Amazon keeps the documented rate (see listed_skus)
        o += ["rate_per_sec = 100000", "burst = 100000"]
    if kind == "webhook":
        o += [f"[channels.{kind}.credentials]", 'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"']
    elif kind == "woocommerce":
        o += [f"[channels.{kind}.credentials]", 'consumer_key = "ck_sim"', 'consumer_secret = "cs_sim"']
    elif kind == "amazon":
        o += [f"[channels.{kind}.credentials]", 'client_id = "amzn1.application-oa2-client.sim"',
              'client_secret = "sim-lwa-secret"', 'refresh_token = "Atzr|sim-refresh"',
              f"[channels.{kind}.options]", 'seller_id = "A1B2C3D4E5"', f'auth_url = "{base}/auth/o2/token"']
    elif kind == "ebay":
        o += [f"[channels.{kind}.credentials]", 'client_id = "sim-ebay-app"', 'client_secret = "sim-ebay-secret"',
              'refresh_token = "v^1.1#sim-refresh"', f"[channels.{kind}.options]", 'revisions_per_day = "1000000"']
    elif kind == "shopify":
        o += [f"[channels.{kind}.credentials]", 'access_token = "shpat_sim"',
              f"[channels.{kind}.options]", 'location_id = "124656943"']
    return "\n".join(o)


def cmd_config(a):
    o = ["[database]", f'conninfo = "{a.conninfo}"', f'slot = "{a.slot}"', 'publication = "stocksync"',
         "status_interval_ms = 1000", "reconnect_min_ms = 100", "reconnect_max_ms = 1000", "",
         "[http]", f'listen = "127.0.0.1:{a.metrics_port}"', "", "[log]", 'level = "warn"', "",
         "[sync]", "full_diff_interval_ms = 3600000", "coalescing_window_ms = 0", "expire_holds_interval_ms = 10000",
         "pending_poll_interval_ms = 2000", "retry_base_ms = 50", "retry_max_ms = 1000", ""]
    inflight = {"webhook": 8, "woocommerce": 8, "ebay": 16, "amazon": 4, "shopify": 8}
    for spec in a.channel:
        kind, url = spec.split("=", 1)
        o.append(channel_toml(kind, url, inflight[kind]))
        o.append("")
    open(a.out, "w").write("\n".join(o))


def calibrate(url, n=150):
    """offset d with sim_time = wall_time + d, from /_sim/health (ms-rounded 'now')."""
    from datetime import datetime
    lo, hi = -1e18, 1e18
    best = None
    for _ in range(n):
        t0 = time.time()
        body = json.loads(get(url + "/_sim/health"))
        t1 = time.time()
        s = datetime.fromisoformat(body["now"].replace("Z", "+00:00")).timestamp()
        lo = max(lo, s - 0.0005 - t1)
        hi = min(hi, s + 0.0005 - t0)
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, s - (t0 + t1) / 2)
    if lo <= hi:
        return (lo + hi) / 2, (hi - lo) / 2
    return best[1], best[0] / 2 + 0.0005


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


SLICE_SECONDS = 5


def slice_p99(timeline, since):
    """The p99 of the lags committed in each SLICE_SECONDS of the load:
    whether the tail is spread over the run or a few stalls."""
    by = {}
    for c, lag in timeline:
        by.setdefault(int((c - since) // SLICE_SECONDS), []).append(lag)
    return [pct(v, 0.99) for _, v in sorted(by.items())]


def cmd_lags(a):
    """Per-change lag on every channel (from the simulator's listing histories)
    and the peer's (pg_recvlogical) commit-to-receive lag, for the commits
    between since and until."""
    from datetime import datetime
    q0 = {}
    for line in open(a.q0):
        s, q = line.split()
        q0[s] = int(q)
    changes = {}  # sku -> [commit unix s] in commit order
    for line in open(a.ledger):
        s, c = line.split()
        changes.setdefault(s, []).append(float(c))
    for v in changes.values():
        v.sort()
    res = {"channels": {}}
    timeline = []  # (commit, lag) of every change on every channel
    for spec in a.chan:
        code, url = spec.split("=", 1)
        kind = code
        d, err = calibrate(url)
        st = json.loads(get(url + "/_sim/state", timeout=120))
        start = st["start_unix"]
        ch = st["channels"][0] if isinstance(st["channels"], list) else st["channels"][code]
        hist = {}
        for l in ch["listings"]:
            hist[l["sku"]] = [(start + h["at_s"] - d, h["quantity"]) for h in l["history"] if h["cause"] == "push"]
        lags, missing = [], 0
        for sku, cs in changes.items():
            pushes = sorted(hist.get(sku, []))
            j = 0
            for k, c in enumerate(cs, 1):
                want = q0[sku] + k
                while j < len(pushes) and pushes[j][1] < want:
                    j += 1
                if j == len(pushes):
                    missing += 1
                    continue
                if a.since <= c <= a.until:
                    lags.append(pushes[j][0] - c)
                    timeline.append((c, lags[-1]))
        res["channels"][code] = {"n": len(lags), "missing": missing, "p50": pct(lags, 0.5), "p99": pct(lags, 0.99),
                                 "max": max(lags) if lags else float("nan"), "clock_err": err}
    all_lags = [lag for _, lag in timeline]
    res["all"] = {"n": len(all_lags), "p50": pct(all_lags, 0.5), "p99": pct(all_lags, 0.99),
                  "slice_seconds": SLICE_SECONDS, "slice_p99": slice_p99(timeline, a.since)}
    peer = []
    for line in open(a.peer):
        c, r = map(float, line.split())
        if a.since <= c <= a.until:
            peer.append(r - c)
    res["peer"] = {"n": len(peer), "p50": pct(peer, 0.5), "p99": pct(peer, 0.99)}
    json.dump(res, open(a.out, "w"), indent=1)


def parse_hist(text, name="stocksync_ack_lag_seconds", label="channel"):
    """One histogram family's cumulative buckets: {label value: {le: count}}."""
    h = {}
    pattern = r'^' + name + r'_bucket\{' + label + r'="([^"]+)",le="([^"]+)"\} (\S+)$'
    for m in re.finditer(pattern, text, re.M):
        h.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
    return h


def cmd_metrics(a):
    sys.stdout.write(get(a.url + "/metrics").decode())


def hist_quantiles(before, after):
    """Delta of two cumulative Prometheus histograms -> interpolated p50/p99 (histogram_quantile)."""
    out = {}
    for ch, b in after.items():
        a0 = before.get(ch, {})
        les = sorted(b, key=lambda x: float("inf") if x == "+Inf" else float(x))
        cum = [(float("inf") if le == "+Inf" else float(le), b[le] - a0.get(le, 0)) for le in les]
        total = cum[-1][1]
        r = {"n": total}
        for name, q in (("p50", 0.5), ("p99", 0.99)):
            if total == 0:
                r[name] = float("nan")
                continue
            rank = q * total
            prev_le, prev_c = 0.0, 0.0
            for le, c in cum:
                if c >= rank:
                    if le == float("inf"):
                        r[name] = prev_le
                    else:
                        r[name] = prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9)
                    break
                prev_le, prev_c = le, c
        out[ch] = r
    return out


def cmd_hist(a):
    before, after = open(a.before).read(), open(a.after).read()
    res = hist_quantiles(parse_hist(before), parse_hist(after))
    # Where a change waits: push calls per channel, the core's database steps.
    res["push_seconds"] = hist_quantiles(parse_hist(before, "stocksync_push_seconds"),
                                         parse_hist(after, "stocksync_push_seconds"))
    res["push_round_trip_seconds"] = hist_quantiles(parse_hist(before, "stocksync_push_round_trip_seconds"),
                                                    parse_hist(after, "stocksync_push_round_trip_seconds"))
    res["db_steps"] = hist_quantiles(parse_hist(before, "stocksync_sync_db_seconds", "step"),
                                     parse_hist(after, "stocksync_sync_db_seconds", "step"))
    json.dump(res, open(a.out, "w"), indent=1)


def cmd_calls(a):
    """Push calls (every operation but token and 404s) per channel: code=url..."""
    res = {}
    for spec in a.chan:
        code, url = spec.split("=", 1)
        st = json.loads(get(url + "/_sim/state", timeout=120))
        ch = st["channels"][0] if isinstance(st["channels"], list) else st["channels"][code]
        res[code] = {op: n for op, n in ch["calls"].items() if op not in TOKEN_OPS}
    json.dump(res, sys.stdout)


def cmd_sample(a):
    """Every second until killed: the worker's queue gauges, one JSON line each."""
    keys = ("stocksync_dirty_listings", "stocksync_in_flight_listings", "stocksync_dirty_skus",
            "stocksync_replication_lag_seconds", "stocksync_replication_lag_bytes", "stocksync_pushes_total")
    with open(a.out, "a") as f:
        while True:
            try:
                text = get(a.url + "/metrics", timeout=5).decode()
                row = {"t": time.time()}
                for m in re.finditer(r'^(\w+)(?:\{channel="([^"]+)"\})? (\S+)$', text, re.M):
                    if m.group(1) in keys:
                        row[m.group(1)[10:] + ("." + m.group(2) if m.group(2) else "")] = float(m.group(3))
                f.write(json.dumps(row) + "\n")
                f.flush()
            except OSError:
                pass
            time.sleep(a.every)


def gauge_summary(path, since, until):
    """Per gauge: the maximum and the median over the samples in [since, until]."""
    rows = [json.loads(l) for l in open(path) if l.strip()]
    rows = [r for r in rows if since <= r["t"] <= until]
    out = {}
    for k in sorted({k for r in rows for k in r if k != "t" and not k.startswith("pushes_total")}):
        v = [r[k] for r in rows if k in r]
        out[k] = {"max": max(v), "median": pct(v, 0.5)}
    return out


def cmd_wait_decoded(a):
    """Polls the worker's /metrics until transactions_decoded >= n; prints the
    seconds since --t0 (unix s) at that moment."""
    deadline = time.time() + a.timeout
    while time.time() < deadline:
        try:
            text = get(a.url + "/metrics", timeout=5).decode()
            m = re.search(r"^stocksync_transactions_decoded_total (\S+)$", text, re.M)
            if m and float(m.group(1)) >= a.n:
                print(f"{time.time() - a.t0:.4f}")
                return
        except OSError:
            pass
        time.sleep(a.poll)
    sys.exit("wait-decoded: timed out")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scenario")
    s.add_argument("--kind", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--nskus", type=int, required=True)
    s.add_argument("--latency", default="none")
    s.add_argument("--qty")
    s.add_argument("--out", required=True)
    s.set_defaults(f=cmd_scenario)
    s = sub.add_parser("listings-sql")
    s.add_argument("--nskus", type=int, required=True)
    s.add_argument("channels", nargs="+")
    s.set_defaults(f=cmd_listings_sql)
    s = sub.add_parser("config")
    s.add_argument("--conninfo", required=True)
    s.add_argument("--slot", required=True)
    s.add_argument("--metrics-port", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("channel", nargs="*")
    s.set_defaults(f=cmd_config)
    s = sub.add_parser("lags")
    for k in ("q0", "ledger", "peer", "out"):
        s.add_argument("--" + k, required=True)
    s.add_argument("--since", type=float, required=True)
    s.add_argument("--until", type=float, required=True)
    s.add_argument("chan", nargs="+")
    s.set_defaults(f=cmd_lags)
    s = sub.add_parser("metrics")
    s.add_argument("url")
    s.set_defaults(f=cmd_metrics)
    s = sub.add_parser("hist")
    for k in ("before", "after", "out"):
        s.add_argument("--" + k, required=True)
    s.set_defaults(f=cmd_hist)
    s = sub.add_parser("calls")
    s.add_argument("chan", nargs="+")
    s.set_defaults(f=cmd_calls)
    s = sub.add_parser("sample")
    s.add_argument("--url", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--every", type=float, default=1.0)
    s.set_defaults(f=cmd_sample)
    s = sub.add_parser("wait-decoded")
    s.add_argument("--url", required=True)
    s.add_argument("--n", type=float, required=True)
    s.add_argument("--t0", type=float, required=True)
    s.add_argument("--timeout", type=float, default=300)
    s.add_argument("--poll", type=float, default=0.01)
    s.set_defaults(f=cmd_wait_decoded)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
