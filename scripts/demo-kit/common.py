"""What the demo's display, collector and summary share: reading the simulator,
the worker's /metrics and the database (through psql, so that nothing beyond
Python's standard library is needed)."""
import json
import subprocess
import urllib.request

CHANNELS = ("shopify", "amazon", "ebay", "woocommerce")
SHORT = {"shopify": "shop", "amazon": "amzn", "ebay": "ebay", "woocommerce": "woo"}


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def psql_json(db, query):
    """One query returning one json value (PGHOST etc. from the environment)."""
    out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", query],
                         check=True, capture_output=True, text=True).stdout.strip()
    return json.loads(out) if out else None


def metrics(url):
    """The worker's /metrics as {(name, labels): value}."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        key, _, value = ln.rpartition(" ")
        name, _, labels = key.partition("{")
        out[(name, labels.rstrip("}"))] = float(value)
    return out


def histogram(m, name, channel):
    """[(upper bound, cumulative count)] of one channel's histogram, +Inf last."""
    rows = []
    for (n, labels), v in m.items():
        if n != name + "_bucket" or f'channel="{channel}"' not in labels:
            continue
        le = labels.split('le="')[1].split('"')[0]
        rows.append((float("inf") if le == "+Inf" else float(le), v))
    return sorted(rows)


def quantile(buckets, q):
    """Prometheus' histogram_quantile: linear inside the bucket; None without data."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, cum in buckets:
        if cum >= rank:
            if bound == float("inf"):
                return float("inf")  # beyond the last finite bound
            return lower + (bound - lower) * (rank - below) / max(cum - below, 1e-9)
        lower, below = bound, cum
    return lower


def fmt_s(v):
    # The worker's last buckets are 10 s to 60 s and above 60 s: an estimate
    # inside them would be a guess, so the bucket is shown instead.
    if v is None:
        return "-"
    if v == float("inf"):
        return "> 60 s"
    if v > 10:
        return "10-60 s"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.1f} s"
