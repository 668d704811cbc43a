#!/usr/bin/env bash
# The shipped production examples stay valid: deploy/stocksync.toml passes the
# worker's own --check-config (with its credential files present), and the
# systemd unit passes systemd-analyze verify where systemd is installed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORKER=$ROOT/build/worker/stocksync-worker
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

creds=/run/credentials/stocksync-worker.service
sed "s#$creds#$tmp#g" "$ROOT/deploy/stocksync.toml" >"$tmp/stocksync.toml"
grep -o "$tmp/[a-z_]*" "$tmp/stocksync.toml" | sort -u | while read -r f; do echo -n "secret-$(basename "$f")" >"$f"; done
echo -n "host=127.0.0.1 dbname=shop" >"$tmp/conninfo"
out=$("$WORKER" --config "$tmp/stocksync.toml" --check-config)
echo "$out"
[[ $out == *"ok (4 channels)"* ]]
# A secret value never shows up in what the check prints.
! grep -q "secret-" <<<"$out"

# Without one of its credential files the check fails and names the key.
rm "$tmp/woo_consumer_secret"
if msg=$("$WORKER" --config "$tmp/stocksync.toml" --check-config 2>&1); then
  echo "check passed without a credential file" >&2
  exit 1
fi
grep -q "channels.woo.credentials.consumer_secret_file" <<<"$msg"

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/bin"
  cp "$WORKER" "$tmp/bin/"
  sed "s#/usr/local/bin#$tmp/bin#g" "$ROOT/deploy/systemd/stocksync-worker.service" >"$tmp/stocksync-worker.service"
  # verify exits 0 on a directive it ignores, so any complaint counts as a failure.
  complaints=$(systemd-analyze verify "$tmp/stocksync-worker.service" 2>&1) || true
  if [[ -n $complaints ]]; then
    echo "$complaints" >&2
    exit 1
  fi
  echo "systemd unit verified"
fi
