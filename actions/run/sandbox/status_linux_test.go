package sandbox

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		stopped bool
		want    Result
		err     string
	}{
		{"exit", []string{"exit 3"}, false, Result{ExitCode: 3}, ""},
		{"signal", []string{"signal 9"}, false, Result{Signal: syscall.SIGKILL}, ""},
		{"exec failed", []string{"exec: 2", "exit 127"}, false, Result{ExecErr: syscall.Errno(2), ExitCode: 127}, ""},
		{"setup failed", []string{"setup: landlock: nope", "exit 126"}, false, Result{}, "sandbox: landlock: nope"},
		{"no report", nil, false, Result{}, "without a report"},
		{"killed while stopping", nil, true, Result{Stopped: true, Signal: syscall.SIGKILL}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(Result{Stopped: tt.stopped}, tt.lines)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
