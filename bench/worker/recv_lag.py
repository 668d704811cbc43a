#!/usr/bin/env python3
"""Reads pg_recvlogical's pgoutput (proto_version 1) stream from stdin and
writes one line per transaction, "commit_unix_s arrival_unix_s", to argv[1]
on EOF. pg_recvlogical writes each message followed by a newline, with
write(2) and no buffering, so the arrival time of the read that completes a
Commit message is when the consumer saw the commit."""
import os
import struct
import sys
import time

PG_EPOCH = 946684800  # 2000-01-01 in unix seconds


class Need(Exception):
    pass


def cstring(b, i):
    j = b.index(b"\0", i)
    return j + 1


def tuple_end(b, i):
    (n,) = struct.unpack_from(">h", b, i)
    i += 2
    for _ in range(n):
        k = b[i]
        i += 1
        if k in (0x74, 0x62):  # 't' text, 'b' binary
            (ln,) = struct.unpack_from(">i", b, i)
            i += 4 + ln
    return i


def message_end(b, i):
    """End offset (exclusive) of the message starting at b[i], or raise Need."""
    try:
        t = b[i]
        p = i + 1
        if t == 0x42:  # B
            p += 20
        elif t == 0x43:  # C
            p += 25
        elif t == 0x4F:  # O origin
            p = cstring(b, p + 8)
        elif t == 0x52:  # R relation
            p = cstring(b, p + 4)
            p = cstring(b, p)
            p += 1
            (n,) = struct.unpack_from(">h", b, p)
            p += 2
            for _ in range(n):
                p = cstring(b, p + 1) + 8
        elif t == 0x59:  # Y type
            p = cstring(b, p + 4)
            p = cstring(b, p)
        elif t == 0x49:  # I
            p = tuple_end(b, p + 5)
        elif t == 0x55:  # U
            p += 4
            if b[p] in (0x4B, 0x4F):
                p = tuple_end(b, p + 1)
            p = tuple_end(b, p + 1)
        elif t == 0x44:  # D
            p = tuple_end(b, p + 5)
        elif t == 0x54:  # T
            (n,) = struct.unpack_from(">i", b, p)
            p += 5 + 4 * n
        elif t == 0x4D:  # M
            p = cstring(b, p + 9)
            (ln,) = struct.unpack_from(">i", b, p)
            p += 4 + ln
        else:
            raise SystemExit(f"recv_lag: unknown pgoutput message {chr(t)!r}")
        if p >= len(b):
            raise Need
        return p
    except (IndexError, ValueError, struct.error):
        raise Need


def main():
    out = []
    buf = bytearray()
    fd = sys.stdin.fileno()
    while True:
        chunk = os.read(fd, 1 << 20)
        now = time.time()
        if not chunk:
            break
        buf += chunk
        i = 0
        while i < len(buf):
            try:
                end = message_end(buf, i)
            except Need:
                break
            if buf[i] == 0x43:
                (ts,) = struct.unpack_from(">q", buf, i + 18)
                out.append((ts / 1e6 + PG_EPOCH, now))
            if buf[end] != 0x0A:
                raise SystemExit("recv_lag: lost message framing")
            i = end + 1
        del buf[:i]
    with open(sys.argv[1], "w") as f:
        for c, a in out:
            f.write(f"{c:.6f} {a:.6f}\n")


if __name__ == "__main__":
    main()
