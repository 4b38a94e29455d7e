package actions

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"20GB":   20_000_000_000,
		"500MiB": 500 << 20,
		"1.5 TB": 1_500_000_000_000,
		"1024":   1024,
		"10b":    10,
		"2gib":   2 << 30,
		" 3 kB ": 3000,
		"0.5KiB": 512,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "GB", "20XB", "-1GB", "1e3GB", "1.2.3MB", "99999999999TB"} {
		_, err := ParseSize(in)
		assert.Error(t, err, in)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 999: "999 B", 1000: "1.0 kB", 1500: "1.5 kB", 440_500_000: "440.5 MB",
		13_500_000_000: "13.5 GB", 2_000_000_000_000_000_000: "2.0 EB",
	} {
		assert.Equal(t, want, FormatSize(n), n)
	}
}
