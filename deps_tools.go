//go:build tools

// This file pins the project's dependencies while the packages that use them
// are being written; it is removed once every one is imported for real.
package main

import (
	_ "github.com/gin-gonic/gin"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/goccy/go-yaml"
	_ "github.com/pelletier/go-toml/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/riverqueue/river"
	_ "github.com/riverqueue/river/riverdriver/riversqlite"
	_ "github.com/robfig/cron/v3"
	_ "github.com/sashabaranov/go-openai"
	_ "github.com/stretchr/testify/assert"
	_ "github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)
