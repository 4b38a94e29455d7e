#!/usr/bin/env bash
# Upload benchmark: hubclient commits one large file (preupload, LFS batch,
# multipart parts, completion, verify, commit) to hubtest, the fake Hub, on
# loopback. Runs BenchmarkUpload (hubclient/bench_test.go) once per size,
# each in its own process so that one size's heap does not colour the
# other's, and prints a table: MB/s, the peak Go heap (HeapInuse) and the
# peak memory mapped by the runtime (Sys) sampled during the upload, and
# the peak RSS of the whole process from /usr/bin/time -v (file generation
# and checks included). The client and the fake Hub share the process.
#
#   bench/upload/run.sh                    # 100MiB and 1GiB
#   SIZES="100MiB" bench/upload/run.sh
#
# Each size needs about three times its size of free space in $TMPDIR (the
# file, multipart parts, the fake Hub's LFS store); all of it is removed.
set -euo pipefail

cd "$(dirname "$0")/../.."
SIZES=${SIZES:-"100MiB 1GiB"}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

go test -c -o "$OUT/hubclient.test" ./hubclient/

for size in $SIZES; do
	echo "running size=$size ..." >&2
	if ! (cd hubclient && /usr/bin/time -v -o "$OUT/$size.time" "$OUT/hubclient.test" \
		-test.run '^$' -test.bench "^BenchmarkUpload\$/^size=$size\$" \
		-test.benchtime 1x -test.benchmem) >"$OUT/$size.txt" 2>&1; then
		cat "$OUT/$size.txt" >&2
		exit 1
	fi
	if ! grep -q "^BenchmarkUpload/size=$size" "$OUT/$size.txt"; then
		echo "no result for size=$size (unknown size?):" >&2
		cat "$OUT/$size.txt" >&2
		exit 1
	fi
done

# value UNIT FILE: the number before UNIT on the benchmark's result line.
value() {
	awk -v unit="$1" '/^BenchmarkUpload\// { for (i = 2; i <= NF; i++) if ($i == unit) print $(i-1) }' "$2"
}
rss_mib() {
	awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"
}

first=""
printf '%-8s %10s %10s %15s %14s %14s %15s\n' size "MB/s" "seconds" "peak heap MiB" "peak sys MiB" "peak RSS MiB" "alloc MiB/op"
for size in $SIZES; do
	f=$OUT/$size.txt
	mbps=$(value MB/s "$f")
	secs=$(awk -v ns="$(value ns/op "$f")" 'BEGIN { printf "%.2f", ns / 1e9 }')
	heap=$(value peak-heap-MiB "$f")
	sys=$(value peak-sys-MiB "$f")
	alloc=$(awk -v b="$(value B/op "$f")" 'BEGIN { printf "%.1f", b / 1048576 }')
	printf '%-8s %10s %10s %15s %14s %14s %15s\n' "$size" "$mbps" "$secs" "$heap" "$sys" "$(rss_mib "$OUT/$size.time")" "$alloc"
	if [ -z "$first" ]; then
		first=$size first_heap=$heap first_mbps=$mbps
	else
		awk -v a="$first" -v b="$size" -v h1="$first_heap" -v h2="$heap" -v m1="$first_mbps" -v m2="$mbps" 'BEGIN {
			printf "\n%s vs %s: peak heap x%.2f, throughput x%.2f\n", b, a, h2 / h1, m2 / m1
			if (h2 > 2 * h1) { print "peak heap grows with the file size"; exit 1 }
		}'
	fi
done
