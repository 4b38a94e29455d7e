#!/usr/bin/env bash
# Conversion benchmark: hubbot's streaming converter (bench/convert, which
# calls safetensors.ConvertPath like `hubbot convert`) against
#   (a) a conversion shaped like the reference algorithm, in Python with
#       Debian's torch (bench/convert/reference.py), and
#   (b) cp of the same bytes,
# on generated fp16 checkpoints with a tied embedding of about 0.5 GB and
# 2.1 GB. Wall time and peak RSS come from /usr/bin/time -v; Go and cp run
# RUNS times (median reported), Python once per size.
#
#   bench/convert/run.sh            # both sizes
#   SIZES=14 RUNS=5 bench/convert/run.sh
#
# Needs /usr/bin/python3 with python3-torch (apt-get install python3-torch).
# Everything it generates lives in bench/out/convert (git-ignored) and is
# deleted at the end; the results stay in bench/out/convert-results.md.
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=bench/out/convert
RESULTS=bench/out/convert-results.md
PY=/usr/bin/python3
RUNS=${RUNS:-3}
SIZES=${SIZES:-"2 14"} # 8192x8192 fp16 layers: 2 -> 0.53 GB, 14 -> 2.14 GB

mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
go build -o "$OUT/convert" ./bench/convert

# measure LABEL CMD...: runs CMD under /usr/bin/time -v after a sync and
# prints "wall_seconds max_rss_kb cpu_seconds" (cpu = user + system, which
# a busy shared machine disturbs less than wall time).
measure() {
	local label=$1
	shift
	sync
	if ! /usr/bin/time -v -o "$OUT/time.txt" "$@" >"$OUT/$label.log" 2>&1; then
		echo "$label failed:" >&2
		cat "$OUT/$label.log" >&2
		exit 1
	fi
	awk -F': ' '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
		/Maximum resident set size/ { rss = $2 }
		/User time \(seconds\)|System time \(seconds\)/ { cpu += $2 }
		END { printf "%.2f %d %.2f\n", s, rss, cpu }' "$OUT/time.txt"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# data_offset FILE: where a safetensors file's byte buffer starts.
data_offset() { echo $((8 + $(od -An -t u8 -N 8 "$1" | tr -d ' '))); }

: >"$RESULTS.notes"
{
	echo "| checkpoint | cp | hubbot (Go) | Python, reference-shaped | Python / Go | Go / cp |"
	echo "| --- | --- | --- | --- | --- | --- |"
} >"$RESULTS.tmp"

for layers in $SIZES; do
	in="$OUT/in-$layers"
	mkdir -p "$in"
	"$PY" bench/convert/gen.py "$in/pytorch_model.bin" "$layers"
	size=$(stat -c %s "$in/pytorch_model.bin")
	cat "$in/pytorch_model.bin" >/dev/null # same warm page cache for every contender

	: >"$OUT/cp.txt"
	: >"$OUT/go.txt"
	for _ in $(seq "$RUNS"); do
		rm -f "$OUT/copy.bin"
		measure cp cp "$in/pytorch_model.bin" "$OUT/copy.bin" >>"$OUT/cp.txt"
		rm -rf "$OUT/go"
		measure go "$OUT/convert" "$in/pytorch_model.bin" "$OUT/go" >>"$OUT/go.txt"
	done
	rm -f "$OUT/copy.bin"
	rm -f "$OUT/py.safetensors"
	read -r py_wall py_rss py_cpu < <(measure py "$PY" bench/convert/reference.py "$in/pytorch_model.bin" "$OUT/py.safetensors")

	# The two outputs differ only in their headers (which tied name is kept);
	# their byte buffers must be identical.
	g="$OUT/go/model.safetensors"
	p="$OUT/py.safetensors"
	cmp -s -i "$(data_offset "$g"):$(data_offset "$p")" "$g" "$p" && same=identical || same=DIFFERENT
	rm -f "$p"

	cp_wall=$(cut -d' ' -f1 "$OUT/cp.txt" | median)
	cp_rss=$(cut -d' ' -f2 "$OUT/cp.txt" | median)
	go_wall=$(cut -d' ' -f1 "$OUT/go.txt" | median)
	go_rss=$(cut -d' ' -f2 "$OUT/go.txt" | median)
	go_rss_max=$(cut -d' ' -f2 "$OUT/go.txt" | sort -n | tail -1)
	gb=$(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }')
	row=$(awk -v gb="$gb" -v cw="$cp_wall" -v cr="$cp_rss" -v gw="$go_wall" -v gr="$go_rss" -v gm="$go_rss_max" \
		-v pw="$py_wall" -v pr="$py_rss" 'BEGIN {
		printf "| %s fp16, tied embedding | %.2f s, %.1f MB | %.2f s, %.1f MB (max %.1f MB) | %.2f s, %.1f MB | %.1fx | %.2fx |",
			gb, cw, cr / 1024, gw, gr / 1024, gm / 1024, pw, pr / 1024, pw / gw, gw / cw }')
	echo "$row" >>"$RESULTS.tmp"
	go_cpu=$(cut -d' ' -f3 "$OUT/go.txt" | median)
	cp_cpu=$(cut -d' ' -f3 "$OUT/cp.txt" | median)
	echo "$gb: CPU time (user+sys, median) cp $cp_cpu s, Go $go_cpu s, Python $py_cpu s; runs as wall s / RSS KB / CPU s: Go $(tr '\n' ';' <"$OUT/go.txt") cp $(tr '\n' ';' <"$OUT/cp.txt"); byte buffers of the Go and Python outputs: $same" >>"$RESULTS.notes"
	rm -rf "$in" "$OUT/go"
done

{
	echo "Conversion benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	cat "$RESULTS.tmp"
	echo
	echo "Medians of $RUNS runs for cp and Go, one Python run; wall time and peak RSS from /usr/bin/time -v, warm page cache, no fsync."
	echo
	sed 's/^/- /' "$RESULTS.notes"
} >"$RESULTS"
rm -f "$RESULTS.tmp" "$RESULTS.notes"
cat "$RESULTS"
