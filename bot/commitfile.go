package bot

import (
	"github.com/hubbot/hubbot/actions"
	"github.com/hubbot/hubbot/hubclient"
)

// commitFile is the commit entry of a proposed file: read from disk, or
// produced by sections when the action streamed it (actions.Stream).
func commitFile(f actions.ProposedFile) hubclient.CommitFile {
	cf := hubclient.CommitFile{PathInRepo: f.PathInRepo, LocalPath: f.LocalPath}
	if s := f.Stream; s != nil {
		cf.Section, cf.Size, cf.SHA256 = s.Section, s.Size, s.SHA256
	}
	return cf
}
