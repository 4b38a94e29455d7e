package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubbot/hubbot/actions"
)

// Duration is a time.Duration written as a string in TOML ("30s", "5m", "1h").
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("want a duration such as 30s, 5m or 1h, got %q", string(b))
	}
	*d = Duration(v)
	return nil
}

// MarshalText renders the duration the way it is written.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Size is a byte count written as a string: "4MiB", "500MB", "20GB" or "1024".
type Size int64

// ParseSize reads a size such as "4MiB" (binary), "500MB" (decimal) or "1024".
func ParseSize(s string) (Size, error) {
	n, err := actions.ParseSize(s)
	return Size(n), err
}

// UnmarshalText parses a size string.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MarshalText renders the size in binary units when it divides evenly.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(s) >= u.mult && int64(s)%u.mult == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.mult, u.suffix)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
