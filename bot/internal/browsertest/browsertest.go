// Package browsertest starts Debian's Chromium headless for the dashboard's
// browser tests, records what pages write to the console, and saves
// screenshots in each test's artifact directory.
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Browser is one headless Chromium with a fresh profile, for one test.
type Browser struct {
	// Ctx runs chromedp actions in the browser's tab.
	Ctx context.Context

	mu       sync.Mutex
	console  []chromedp.ConsoleMessage
	expected []string // URL prefixes whose failed loads are the point of the test
}

// ExpectFailedLoad tells Errors that a failed load of a URL with this prefix
// is expected: a page the test opens to see its 404, or a page of the fake
// Hub, which is not under test.
func (b *Browser) ExpectFailedLoad(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected = append(b.expected, prefix)
}

// New starts Chromium, or skips the test, saying why, when it is not
// installed. The browser is stopped when the test ends.
func New(t *testing.T) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("browser test skipped: no Chromium at %s (install Debian's chromium package; .ci/run does)", ChromiumPath)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	b := &Browser{Ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// Errors returns the console errors and uncaught exceptions so far: a CSP
// violation, a missing file or a script error each shows here.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		if m.Source == "network" && slices.ContainsFunc(b.expected, func(p string) bool { return strings.HasPrefix(m.URL, p) }) {
			continue
		}
		out = append(out, m.String()+" ("+m.URL+")")
	}
	return out
}

// Screenshot saves the whole page as name.png in the test's artifact
// directory (kept with go test -artifacts), and also in
// $HUBBOT_SCREENSHOTS when it is set, which is how docs/ is refreshed.
func (b *Browser) Screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{t.ArtifactDir()}
	if d := strings.TrimSpace(os.Getenv("HUBBOT_SCREENSHOTS")); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
			t.Fatalf("save screenshot: %v", err)
		}
	}
}
