package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"version"}, &out, &errOut, func(string) string { return "" })
	assert.Equal(t, 0, code)
	assert.Regexp(t, `^hubbot \S+\n$`, out.String())
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(t.Context(), []string{"frobnicate"}, &out, &errOut, func(string) string { return "" }))
	assert.Contains(t, errOut.String(), `unknown command "frobnicate"`)
}
