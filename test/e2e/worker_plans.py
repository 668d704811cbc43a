"""The worker's plans as auto_explain logged them (see auto_explain_on in lib.sh)."""
import re


def worker_plans(server_log):
    """The plan messages of the worker's sync session in the server log, each one string."""
    # One log message per entry: a line starting with the log_line_prefix's
    # timestamp begins it; a plan's lines follow without a prefix.
    messages, cur = [], []
    for line in open(server_log, errors="replace"):
        if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line):
            if cur:
                messages.append("".join(cur))
            cur = [line]
        elif cur:
            cur.append(line)
    if cur:
        messages.append("".join(cur))
    return [m for m in messages if " stocksync-worker LOG:  duration:" in m.split("\n", 1)[0] and "plan:" in m]


def actual_rows(line):
    """(rows, loops) of a plan line run with ANALYZE, or None when it never ran."""
    m = re.search(r"actual rows=(\d+) loops=(\d+)", line)
    return (int(m.group(1)), int(m.group(2))) if m else None
