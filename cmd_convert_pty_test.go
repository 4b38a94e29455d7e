//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/hubbot/hubbot/actions"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal: what the program writes to tty, the
// test reads from pty.
func openPTY(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	t.Cleanup(func() { pty.Close() })
	fd := int(pty.Fd())
	require.NoError(t, unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0), "unlock the terminal")
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	return pty, tty
}

// safetensorsTensors counts the tensors in a safetensors file's header.
func safetensorsTensors(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	n := binary.LittleEndian.Uint64(data[:8])
	var header map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data[8:8+n], &header))
	delete(header, "__metadata__")
	return len(header)
}

// TestConvertProgressOnATerminal runs `hubbot convert` with stderr on a
// pseudo-terminal: it redraws one progress line there (bytes of the total,
// tensors, where the file is, rate, time left) and clears it at the end;
// with stderr on a pipe it writes nothing there.
func TestConvertProgressOnATerminal(t *testing.T) {
	pty, tty := openPTY(t)
	got := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, pty) // ends with EIO once the terminal is closed
		got <- b.String()
	}()

	dst := filepath.Join(t.TempDir(), "model.safetensors")
	var out bytes.Buffer
	code := run(t.Context(), []string{"convert", checkpoint, dst}, &out, tty, noEnv)
	require.NoError(t, tty.Close())
	require.Equal(t, 0, code, out.String())
	screen := <-got

	src, err := os.Stat(checkpoint)
	require.NoError(t, err)
	written, err := os.Stat(dst)
	require.NoError(t, err)
	n := safetensorsTensors(t, dst)
	require.True(t, strings.HasPrefix(screen, "\r\x1b[K"), "each frame redraws the line: %q", screen)
	require.True(t, strings.HasSuffix(screen, "\r\x1b[K"), "the line is cleared at the end: %q", screen)
	frames := strings.Split(strings.TrimSuffix(strings.TrimPrefix(screen, "\r\x1b[K"), "\r\x1b[K"), "\r\x1b[K")
	last := regexp.MustCompile(`, [^,]+/s, [^,]+ left$`).ReplaceAllString(frames[len(frames)-1], ", RATE/s, ETA left")
	assert.Equal(t, fmt.Sprintf("converting: %s of %s, %d tensors (file 1: %d of %d), RATE/s, ETA left",
		actions.FormatSize(written.Size()), actions.FormatSize(src.Size()), n, n, n), last)
	assert.NotContains(t, screen, "\n", "one line, redrawn")
	t.Logf("last frame: %q", frames[len(frames)-1])

	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	code = run(t.Context(), []string{"convert", checkpoint, filepath.Join(t.TempDir(), "quiet.safetensors")}, io.Discard, w, noEnv)
	w.Close()
	require.Equal(t, 0, code)
	quiet, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Empty(t, string(quiet), "quiet when stderr is not a terminal")
}
