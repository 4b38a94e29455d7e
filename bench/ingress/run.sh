#!/usr/bin/env bash
# Ingress attack benchmark: builds hubbot from this tree ("new") and from a
# base commit ("old", default: the merge base with main), then, for each,
# starts `hubbot serve` in dry-run on loopback and measures valid webhook
# deliveries at a fixed rate, alone and while 300 connections keep POSTing
# 4 MiB bodies with a wrong secret, and the bot's peak RSS. Target: peak RSS
# under 200 MB with every valid delivery answered.
#
#   bench/ingress/run.sh
#   BASE=none bench/ingress/run.sh                 # this tree only
#   bench/ingress/run.sh -attackers 100 -attack 10s
#
# Flags are passed to the load program (go run ./bench/ingress -h lists
# them). The table is printed and written to bench/out/ingress.txt.
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=bench/out
mkdir -p "$OUT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hubbot-ingress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/hubbot-new" .
go build -o "$tmp/ingress" ./bench/ingress
bins="new=$tmp/hubbot-new"
base=${BASE:-$(git merge-base HEAD main 2>/dev/null || true)}
if [ -n "$base" ] && [ "$base" != none ]; then
  mkdir "$tmp/old"
  git archive "$base" | tar -x -C "$tmp/old"
  (cd "$tmp/old" && go build -o "$tmp/hubbot-old" .)
  bins="$bins,old=$tmp/hubbot-old"
  echo "old = $(git rev-parse --short "$base")" >&2
fi

echo "uptime before: $(uptime)" >&2
"$tmp/ingress" -bins "$bins" -dir "$tmp/work" "$@" | tee "$OUT/ingress.txt"
echo "uptime after: $(uptime)" >&2
