#!/usr/bin/env bash
# Conversion benchmark: `hubbot convert` against
#   (a) cp of the same bytes (the physical limit: one copy), and
#   (b) a conversion shaped like the reference algorithm, in Python with
#       Debian's torch (bench/convert/reference.py),
# on generated fp16 checkpoints with a tied embedding. The contenders run
# alternately, RUNS rounds, on a warm page cache; wall time and peak RSS
# come from /usr/bin/time -v and are reported as median (min-max).
#
#   bench/convert/run.sh                       # 0.53 GB and 2.14 GB
#   SIZES="2 14 150" RUNS=5 bench/convert/run.sh
#
# SIZES counts 8192x8192 fp16 layers: 2 -> 0.53 GB, 14 -> 2.14 GB,
# 150 -> 20.4 GB. Sizes above 20 layers are generated as zeros (gen.py
# "zeros", which needs no RAM for them) and run without the Python baseline,
# which would hold the whole model in memory (TORCH_MAX_LAYERS). A size is
# skipped, and said so, when the disk cannot hold the input and two outputs.
#
# Needs /usr/bin/python3 with python3-torch (apt-get install python3-torch).
# Everything it generates lives in bench/out/convert (git-ignored) and is
# deleted at the end; the results stay in bench/out/convert-results.md.
set -euo pipefail

cd "$(dirname "$0")/../.."
OUT=bench/out/convert
RESULTS=bench/out/convert-results.md
PY=/usr/bin/python3
RUNS=${RUNS:-5}
SIZES=${SIZES:-"2 14"}
TORCH_MAX_LAYERS=${TORCH_MAX_LAYERS:-20}
TORCH_RUNS=${TORCH_RUNS:-3}

mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT
go build -o "$OUT/hubbot" .

# measure LABEL CMD...: runs CMD under /usr/bin/time -v and appends
# "wall_seconds max_rss_kb cpu_seconds anon_rss_kb" to $OUT/LABEL.txt.
# max_rss_kb (time -v) counts the pages of the program's own binary that
# it maps, which for hubbot is most of it; anon_rss_kb is the peak of the
# process's anonymous memory (its heap, stacks and buffers), sampled from
# /proc every 20 ms with shell builtins only, so the sampling forks nothing
# next to the measured run.
measure() {
	local label=$1 peak=0 child="" k v _
	shift
	/usr/bin/time -v -o "$OUT/time.txt" "$@" >"$OUT/$label.log" 2>&1 &
	local tpid=$!
	while [ -e "/proc/$tpid" ]; do
		[ -z "$child" ] && { read -r child _ <"/proc/$tpid/task/$tpid/children" 2>/dev/null || true; }
		if [ -n "$child" ]; then
			while read -r k v _; do
				[ "$k" = RssAnon: ] && [ "$v" -gt "$peak" ] && peak=$v
			done 2>/dev/null <"/proc/$child/status" || true # the process may be gone
		fi
		read -r -t 0.02 -u "$SLEEPFD" _ || true
	done
	if ! wait "$tpid"; then
		echo "$label failed:" >&2
		cat "$OUT/$label.log" >&2
		exit 1
	fi
	awk -F': ' -v anon="$peak" '
		/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
		/Maximum resident set size/ { rss = $2 }
		/User time \(seconds\)|System time \(seconds\)/ { cpu += $2 }
		END { printf "%.3f %d %.2f %d\n", s, rss, cpu, anon }' "$OUT/time.txt" >>"$OUT/$label.txt"
}
exec {SLEEPFD}<> <(:) # a pipe nobody writes to: read -t on it sleeps without a fork
measure version "$OUT/hubbot" version # the binary alone: its mapped code and start-up

# stats COLUMN FILE: "median min max" of a column (the lower median for an
# even count).
stats() { cut -d' ' -f"$1" "$2" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }

# data_offset FILE: where a safetensors file's byte buffer starts.
data_offset() { echo $((8 + $(od -An -t u8 -N 8 "$1" | tr -d ' '))); }

: >"$RESULTS.notes"
{
	echo "| checkpoint | cp | hubbot convert: wall, peak RSS (anonymous) | Python, reference-shaped | hubbot / cp wall (median, min-max of per-round ratios) | hubbot / cp CPU (median) | Python / hubbot |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$RESULTS.tmp"

for layers in $SIZES; do
	in="$OUT/in-$layers"
	mkdir -p "$in"
	need=$(((layers * 134217728 + 262144000) * 3 / 1024 + 1048576)) # KB: input, two outputs, 1 GB spare
	free=$(df -Pk "$OUT" | awk 'NR == 2 { print $4 }')
	if [ "$free" -lt "$need" ]; then
		echo "- $layers layers skipped: needs $((need / 1048576)) GB free, $((free / 1048576)) GB available" >>"$RESULTS.notes"
		continue
	fi
	mode=random
	[ "$layers" -gt "$TORCH_MAX_LAYERS" ] && mode=zeros
	"$PY" bench/convert/gen.py "$in/pytorch_model.bin" "$layers" "$mode"
	size=$(stat -c %s "$in/pytorch_model.bin")
	gb=$(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }')
	rm -f "$OUT"/{cp,go,py}.txt
	for round in $(seq "$RUNS"); do
		sync
		cat "$in/pytorch_model.bin" >/dev/null # the same warm page cache for each
		rm -f "$OUT/copy.bin"
		measure cp cp "$in/pytorch_model.bin" "$OUT/copy.bin"
		rm -f "$OUT/copy.bin"
		sync
		cat "$in/pytorch_model.bin" >/dev/null
		rm -rf "$OUT/go"
		measure go "$OUT/hubbot" convert "$in/pytorch_model.bin" "$OUT/go"
		if [ "$layers" -le "$TORCH_MAX_LAYERS" ] && [ "$round" -le "$TORCH_RUNS" ]; then
			rm -rf "$OUT/go"
			sync
			rm -f "$OUT/py.safetensors"
			measure py "$PY" bench/convert/reference.py "$in/pytorch_model.bin" "$OUT/py.safetensors"
		fi
	done

	same="not compared (no Python run)"
	if [ -f "$OUT/py.safetensors" ]; then
		rm -rf "$OUT/go"
		"$OUT/hubbot" convert "$in/pytorch_model.bin" "$OUT/go" >/dev/null
		# The outputs differ only in their headers (which tied name is
		# kept); their byte buffers must be identical.
		g="$OUT/go/model.safetensors"
		p="$OUT/py.safetensors"
		cmp -s -i "$(data_offset "$g"):$(data_offset "$p")" "$g" "$p" && same=identical || same=DIFFERENT
		rm -f "$p"
	fi

	read -r cw cwmin cwmax < <(stats 1 "$OUT/cp.txt")
	read -r cr _ crmax < <(stats 2 "$OUT/cp.txt")
	read -r gw gwmin gwmax < <(stats 1 "$OUT/go.txt")
	read -r gr grmin grmax < <(stats 2 "$OUT/go.txt")
	read -r ga gamin gamax < <(stats 4 "$OUT/go.txt")
	paste -d' ' "$OUT/go.txt" "$OUT/cp.txt" | awk '{ printf "%.4f\n", $1 / $5 }' >"$OUT/ratio.txt"
	read -r rmed rmin rmax < <(stats 1 "$OUT/ratio.txt")
	read -r gc _ _ < <(stats 3 "$OUT/go.txt")
	read -r cc _ _ < <(stats 3 "$OUT/cp.txt")
	cpuratio=$(awk -v g="$gc" -v c="$cc" 'BEGIN { printf "%.2fx (%.2f s / %.2f s)", g / c, g, c }')
	pycell="not run"
	pyratio="-"
	if [ -f "$OUT/py.txt" ]; then
		read -r pw pwmin pwmax < <(stats 1 "$OUT/py.txt")
		read -r pr _ _ < <(stats 2 "$OUT/py.txt")
		pycell=$(awk -v w="$pw" -v a="$pwmin" -v b="$pwmax" -v r="$pr" 'BEGIN { printf "%.2f s (%.2f-%.2f), %.0f MB", w, a, b, r / 1024 }')
		pyratio=$(awk -v p="$pw" -v g="$gw" 'BEGIN { printf "%.0fx", p / g }')
	fi
	awk -v gb="$gb" -v mode="$mode" -v cw="$cw" -v cwmin="$cwmin" -v cwmax="$cwmax" -v cr="$cr" \
		-v gw="$gw" -v gwmin="$gwmin" -v gwmax="$gwmax" -v gr="$gr" -v grmin="$grmin" -v grmax="$grmax" -v gamin="$gamin" -v gamax="$gamax" \
		-v rmed="$rmed" -v rmin="$rmin" -v rmax="$rmax" -v py="$pycell" -v pyr="$pyratio" -v cpu="$cpuratio" 'BEGIN {
		printf "| %s fp16 (%s) | %.2f s (%.2f-%.2f), %.1f MB | %.2f s (%.2f-%.2f), %.1f MB (%.1f-%.1f; anonymous %.1f-%.1f) | %s | %.2fx (%.2f-%.2f) | %s | %s |\n",
			gb, mode, cw, cwmin, cwmax, cr / 1024, gw, gwmin, gwmax, gr / 1024, grmin / 1024, grmax / 1024, gamin / 1024, gamax / 1024, py, rmed, rmin, rmax, cpu, pyr }' >>"$RESULTS.tmp"
	{
		echo "- $gb: runs as wall s / RSS KB / CPU s / anonymous RSS KB: hubbot $(tr '\n' ';' <"$OUT/go.txt") cp $(tr '\n' ';' <"$OUT/cp.txt")"
		[ -f "$OUT/py.txt" ] && echo "  Python $(tr '\n' ';' <"$OUT/py.txt")"
		echo "  byte buffers of the hubbot and Python outputs: $same"
	} >>"$RESULTS.notes"
	rm -rf "$in" "$OUT/go" "$OUT/py.safetensors" "$OUT"/{cp,go,py,ratio}.txt
done

{
	echo "Conversion benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	cat "$RESULTS.tmp"
	echo
	echo "Median (min-max) of $RUNS alternating rounds of cp and hubbot (Python: the first $TORCH_RUNS rounds);"
	echo "wall time and peak RSS from /usr/bin/time -v; page cache warmed before each run; no fsync."
	echo "Peak RSS counts the pages of the binary that a process maps: \`hubbot version\` alone peaks at"
	echo "$(awk '{ printf "%.1f MB (%.1f MB anonymous)", $2 / 1024, $4 / 1024 }' "$OUT/version.txt"). The anonymous RSS (heap, stacks, buffers) is sampled every 20 ms."
	echo
	cat "$RESULTS.notes"
} >"$RESULTS"
rm -f "$RESULTS.tmp" "$RESULTS.notes"
cat "$RESULTS"
