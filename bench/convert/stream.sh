#!/usr/bin/env bash
# Streaming against local conversion, through a fake Hub on loopback: the
# safetensors action makes the same pull request from a sharded checkpoint
#   local:  download the shards into the workspace, convert next to them,
#           upload from disk (needs about twice the model in free disk);
#   stream: read the shards with range requests, convert into hashes
#           (pass 1), upload by sections produced again (pass 2).
# The two run alternately, RUNS rounds, each in its own process measured
# with /usr/bin/time -v (wall, peak RSS); the process's own /proc/self/io
# gives the bytes it wrote to and read from disk. The hubtest server runs
# in a separate process, so its memory and disk are not counted. The pull
# requests' files must be identical (sha256) between the two paths.
#
#   bench/convert/stream.sh                   # 3 shards of 4 x 32 MiB
#   SHARDS=4 LAYERS=6 RUNS=3 bench/convert/stream.sh
#
# Needs /usr/bin/python3 with python3-torch. Results in
# bench/out/stream-results.md.
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=bench/out/stream
RESULTS=bench/out/stream-results.md
SHARDS=${SHARDS:-3}
LAYERS=${LAYERS:-4}
RUNS=${RUNS:-3}

rm -rf "$OUT"
mkdir -p "$OUT/ckpt"
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null || true
	rm -rf "$OUT"
}
trap cleanup EXIT
go build -o "$OUT/streambench" ./bench/convert/streambench
/usr/bin/python3 bench/convert/gen.py --sharded "$OUT/ckpt" "$SHARDS" "$LAYERS"
size=$(du -cb "$OUT"/ckpt/*.bin | tail -1 | cut -f1)

mkfifo "$OUT/stdin"
"$OUT/streambench" serve "$OUT/hub" "$OUT/ckpt" <"$OUT/stdin" >"$OUT/server.txt" 2>"$OUT/server.log" &
server=$!
exec 3>"$OUT/stdin" # holds the server's stdin open until the end
for _ in $(seq 600); do
	[ -s "$OUT/server.txt" ] && break
	sleep 0.1
done
read -r url token <"$OUT/server.txt"

# measure MODE: one run, appends "wall rss write_bytes read_bytes files" to $OUT/MODE.txt
measure() {
	local mode=$1
	rm -rf "$OUT/work"
	mkdir -p "$OUT/work"
	sync
	/usr/bin/time -v -o "$OUT/time.txt" "$OUT/streambench" run "$mode" "$url" "$token" "$OUT/work" >"$OUT/run.txt" 2>"$OUT/run.log" ||
		{ cat "$OUT/run.log" >&2; exit 1; }
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$OUT/time.txt")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/time.txt")
	wb=$(sed -n 's/.*write_bytes=\([0-9]*\).*/\1/p' "$OUT/run.txt")
	rb=$(sed -n 's/.*read_bytes=\([0-9]*\).*/\1/p' "$OUT/run.txt")
	files=$(sed -n 's/.*files=\(.*\)/\1/p' "$OUT/run.txt")
	echo "$wall $rss $wb $rb $files" >>"$OUT/$mode.txt"
}

for _ in $(seq "$RUNS"); do
	measure local
	measure stream
done

stats() { cut -d' ' -f"$1" "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }
same=identical
[ "$(cut -d' ' -f5 "$OUT/local.txt" | sort -u)" = "$(cut -d' ' -f5 "$OUT/stream.txt" | sort -u)" ] || same=DIFFERENT
[ "$(cut -d' ' -f5 "$OUT/local.txt" "$OUT/stream.txt" | sort -u | wc -l)" = 1 ] || same=DIFFERENT
{
	echo "Streaming vs local conversion through hubtest on loopback, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	awk -v s="$size" -v n="$SHARDS" 'BEGIN { printf "Checkpoint: %d shards, %.0f MB of fp16 weights. ", n, s / 1e6 }'
	echo "Median (min-max) of $RUNS alternating rounds; the pull request's safetensors files: $same on both paths."
	echo
	echo "| path | wall | peak RSS | disk written | disk read |"
	echo "| --- | --- | --- | --- | --- |"
	for mode in local stream; do
		read -r w wmin wmax < <(stats 1 "$OUT/$mode.txt")
		read -r r rmin rmax < <(stats 2 "$OUT/$mode.txt")
		read -r wb _ _ < <(stats 3 "$OUT/$mode.txt")
		read -r rb _ _ < <(stats 4 "$OUT/$mode.txt")
		awk -v m="$mode" -v w="$w" -v a="$wmin" -v b="$wmax" -v r="$r" -v c="$rmin" -v d="$rmax" -v wb="$wb" -v rb="$rb" 'BEGIN {
			printf "| %s | %.2f s (%.2f-%.2f) | %.1f MB (%.1f-%.1f) | %.1f MB | %.1f MB |\n", m, w, a, b, r / 1024, c / 1024, d / 1024, wb / 1e6, rb / 1e6 }'
	done
	echo
	echo "Runs (wall s, RSS KB, write_bytes, read_bytes, files):"
	sed 's/^/- local: /' "$OUT/local.txt"
	sed 's/^/- stream: /' "$OUT/stream.txt"
} >"$RESULTS"
cat "$RESULTS"
