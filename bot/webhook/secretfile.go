package webhook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretFile is the file in the data dir that keeps the secret a dry-run bot
// generated, so that a restart (or a Space waking up) keeps the webhook
// working and `hubbot replay` can find it.
const SecretFile = "webhook-secret"

// MinSecretLength is the shortest secret accepted for a bot that acts on
// the Hub: shorter ones are within reach of guessing over the network.
const MinSecretLength = 16

// LoadOrCreateSecret returns the secret kept in dataDir, creating it with a
// new random secret (mode 0600) the first time. created tells which.
func LoadOrCreateSecret(dataDir string) (secret string, created bool, err error) {
	path := filepath.Join(dataDir, SecretFile)
	if s, err := ReadSecretFile(dataDir); err != nil || s != "" {
		return s, false, err
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return "", false, fmt.Errorf("keep the dry-run webhook secret: %w", err)
	}
	secret = GenerateSecret()
	// Written aside and renamed, so a crash never leaves an empty file and
	// two processes starting at once end up with one of the two secrets.
	tmp, err := os.CreateTemp(dataDir, SecretFile+".*")
	if err != nil {
		return "", false, fmt.Errorf("keep the dry-run webhook secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return "", false, fmt.Errorf("keep the dry-run webhook secret in %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("keep the dry-run webhook secret in %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		s, err := ReadSecretFile(dataDir) // another process was first
		return s, false, err
	} else if err != nil {
		return "", false, fmt.Errorf("keep the dry-run webhook secret in %s: %w", path, err)
	}
	return secret, true, nil
}

// ReadSecretFile returns the secret kept in dataDir, or "" when there is
// none. A file readable by others is narrowed to 0600 first.
func ReadSecretFile(dataDir string) (string, error) {
	path := filepath.Join(dataDir, SecretFile)
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the dry-run webhook secret: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("narrow %s to mode 0600: %w", path, err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the dry-run webhook secret: %w", err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" || strings.ContainsAny(s, " \t\r\n,") {
		return "", fmt.Errorf("%s does not hold one secret: delete it and a new one is generated", path)
	}
	return s, nil
}

// CheckSecrets refuses secrets shorter than MinSecretLength, naming which
// one by position, never by value.
func CheckSecrets(secrets []string) error {
	var errs []error
	for i, s := range secrets {
		if len(s) < MinSecretLength {
			errs = append(errs, fmt.Errorf("WEBHOOK_SECRET: secret %d of %d has %d characters; use at least %d (for example `openssl rand -hex 24`)",
				i+1, len(secrets), len(s), MinSecretLength))
		}
	}
	return errors.Join(errs...)
}
