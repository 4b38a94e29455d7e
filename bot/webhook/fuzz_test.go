package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks what must hold for any body a stranger sends: Decode
// does not panic; it fails only with a *BadRequestError (answered 400) or an
// *UnsupportedVersionError (ignored); and a payload it accepts has what
// routing needs, a valid repo, and a delivery key that depends only on the
// body.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "payloads", "*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `null`, `[]`, `{}`, `"x"`, `{"event":"repo.content"}`,
		`{"event":{"scope":"repo","action":"update"},"repo":{"name":"gpt2","type":"model"}}`,
		`{"event":{"scope":"repo.content","action":"update"},"repo":{"name":"a/b","type":"dataset"},"updatedRefs":[{"ref":"refs/pr/1","oldSha":null,"newSha":"x"}]}`,
		`{"event":{"scope":"discussion.comment","action":"create"},"repo":{"name":"a/b","type":"space"},"comment":{"id":"c","content":null}}`,
		`{"event":{"scope":"x","action":"y"},"repo":{"name":"a/b/c"},"webhook":{"version":4}}`,
		`{"event":{"scope":"x","action":"y"},"repo":{"name":"a/b","type":"bucket"}}`,
		`{"movedTo":"x/y","event":{"scope":"repo","action":"move"},"repo":{"name":"a/b","type":"model"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Decode(body)
		if err != nil {
			var bad *BadRequestError
			var unsupported *UnsupportedVersionError
			if !errors.As(err, &bad) && !errors.As(err, &unsupported) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if p != nil {
				t.Fatalf("a payload with the error %v", err)
			}
			return
		}
		if p.Event.Scope == "" || p.Event.Action == "" || p.Repo.Name == "" {
			t.Fatalf("accepted without what routing needs: %+v", p.Event)
		}
		if p.HubRepo().Type == "" || p.HubRepo().ID != p.Repo.Name {
			t.Fatalf("repo %+v from %q %q", p.HubRepo(), p.Repo.Type, p.Repo.Name)
		}
		key := p.Key()
		if key == "" {
			t.Fatal("empty delivery key")
		}
		again, err := Decode(append([]byte(nil), body...))
		if err != nil || again.Key() != key {
			t.Fatalf("the same body decodes differently: %v, %q vs %q", err, again.Key(), key)
		}
		scope, action := p.Route(func(string) bool { return false })
		if scope != p.Event.Scope || action != p.Event.Action {
			t.Fatalf("no known scope routes %s %s as %s %s", p.Event.Scope, p.Event.Action, scope, action)
		}
		if scope, _ := p.Route(func(s string) bool { return s == "repo" }); scope != "repo" && scope != p.Event.Scope {
			t.Fatalf("routed to unknown scope %q", scope)
		}
	})
}
