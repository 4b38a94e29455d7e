package actions

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a size such as "20GB", "500MiB", "1.5 TB" or "1024", as
// every size in config.toml is written. KB, MB, GB and TB are powers of 1000
// (as the Hub shows sizes); KiB, MiB, GiB and TiB powers of 1024. Units are
// case-insensitive.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (examples: 20GB, 500MiB)", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(b), nil
}

// FormatSize writes a byte count in decimal units with one decimal, as the
// Hub shows sizes: "512 B", "1.5 kB", "13.5 GB".
func FormatSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n)/unit, 0
	for f >= unit && i < 5 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGTPE"[i])
}
