#!/usr/bin/env bash
# Webhook receiver benchmark: builds the real hubbot binary and the
# benchmark (bench/receiver), which starts a fake Hub (hubtest) and, for each
# phase, a fresh `hubbot serve` on a loopback port with its own SQLite data
# dir, then measures
#   throughput  accepted (202) deliveries/s, closed loop, 64 connections
#   latency     answer latency p50/p90/p99/max at 200 deliveries/s, open loop
#   pickup      time from a delivery's 202 to its job's start, workers idle
# and stops each bot with SIGTERM. See bench/receiver/README.md.
#
#   bench/receiver/run.sh                      # about a minute and a half
#   bench/receiver/run.sh -conns 16,64,256     # a concurrency sweep
#   bench/receiver/run.sh -phases pickup -pickup-n 100
#   bench/receiver/run.sh -perf bench/out/perf # perf record the bot under load
#
# Flags are passed to the benchmark (go run ./bench/receiver -h lists them).
# The summary is printed and written to bench/out/receiver.txt (git-ignored).
# Needs go and git (the fake Hub serves git through `git http-backend`).
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=bench/out
mkdir -p "$OUT"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hubbot-receiver-bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
go build -ldflags "-X main.version=$rev" -o "$tmp/hubbot" .
go build -o "$tmp/receiver" ./bench/receiver

echo "uptime before: $(uptime)" >&2
"$tmp/receiver" -hubbot "$tmp/hubbot" -out "$OUT/receiver.txt" "$@"
echo "uptime after: $(uptime)" >&2
