package modelcard

// Space card rules: the Space configuration.
//
// Source: hub-docs docs/hub/spaces-config-reference.md ("all the accepted
// parameters"): the types of every key, the colors, `sdk` among gradio,
// docker and static, `python_version` as `3.x` or `3.x.x`, `app_port`
// used only with docker, `base_path` starting with `/`, `header` mini or
// default, the hardware flavors of `suggested_hardware`, `suggested_storage`
// ignored since persistent storage is gone, `hf_oauth_expiration_minutes` at
// most 43200, `startup_duration_timeout` as a duration such as `1h`,
// `custom_headers` limited to the lowercase COEP, COOP and CORP headers,
// and the `preload_from_hub` entry format. Streamlit as a built-in SDK is
// deprecated (docs/hub/spaces-changelog.md, 2025-04-30; spaces-sdks-streamlit.md).
// The OAuth scopes are those of docs/hub/oauth.md. The 60-character limit on
// short_description is the Hub's push validation ("short_description" length
// must be less than or equal to 60 characters long), as projects publishing
// Spaces report it (espnet/espnet#6709, qdonnars/ohmywind#160).

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

func spaceKnownFields() []string {
	return []string{"title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version",
		"suggested_hardware", "suggested_storage", "app_file", "app_build_command", "app_port", "base_path",
		"fullWidth", "header", "short_description", "models", "datasets", "tags", "thumbnail", "pinned",
		"hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes", "hf_oauth_authorized_org",
		"disable_embedding", "startup_duration_timeout", "custom_headers", "preload_from_hub", "license",
		"license_name", "license_link"}
}

func spaceMisspelling(key string) string {
	switch strings.ToLower(key) {
	case "port", "app-port", "appport", "server_port":
		return "app_port"
	case "colorfrom", "color_from", "colourfrom", "colour_from":
		return "colorFrom"
	case "colorto", "color_to", "colourto", "colour_to":
		return "colorTo"
	case "fullwidth", "full_width":
		return "fullWidth"
	case "description":
		return "short_description"
	case "model":
		return "models"
	case "dataset":
		return "datasets"
	case "gradio_version", "streamlit_version":
		return "sdk_version"
	case "hardware":
		return "suggested_hardware"
	}
	return ""
}

func spaceBlankMatters(key string) bool {
	switch key {
	case "sdk", "title", "app_file", "app_port", "sdk_version", "python_version", "license", "colorFrom", "colorTo":
		return true
	}
	return false
}

// Value lists of the Spaces configuration reference and of oauth.md.
func spaceColors() []string {
	return []string{"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
}

func spaceHardware() []string {
	return []string{"cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "l4x1", "l4x4",
		"l40sx1", "l40sx4", "l40sx8", "a10g-small", "a10g-large", "a10g-largex2", "a10g-largex4",
		"a100-large", "a100x4", "a100x8"}
}

func oauthScopes() []string {
	return []string{"openid", "profile", "email", "read-billing", "read-memberships", "read-repos",
		"gated-repos", "contribute-repos", "write-repos", "manage-repos", "read-collections",
		"write-collections", "inference-api", "read-endpoints", "write-endpoints", "jobs", "webhooks",
		"write-discussions"}
}

func customHeaders() []string {
	return []string{"cross-origin-embedder-policy", "cross-origin-opener-policy", "cross-origin-resource-policy"}
}

// maxShortDescription is the Hub's limit on short_description, in characters.
const maxShortDescription = 60

var (
	pythonVersionRe = regexp.MustCompile(`^3\.[0-9]+(\.[0-9]+)?$`)
	durationRe      = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?\s*(ms|s|m|h|d))+$`)
)

func (c *checker) checkSpaceFields() {
	m := c.meta
	c.checkKeys(spaceKnownFields(), spaceMisspelling, spaceBlankMatters)
	sdk := c.checkSDK()
	c.spaceString("title")
	c.spaceString("app_build_command")
	c.spaceString("thumbnail")
	if e := c.spaceString("emoji"); e != nil && !emojiOnly(e.text) {
		c.add(checkSpaceConfig, "emoji", e.pos,
			fmt.Sprintf("`emoji` is `%s`; the Hub takes one emoji and nothing else", sanitize(e.text, 20)),
			"use a single emoji, such as `🚀`")
	}
	for _, k := range []string{"colorFrom", "colorTo"} {
		if v := c.spaceString(k); v != nil && !contains(spaceColors(), v.text) {
			c.add(checkSpaceConfig, k, v.pos, fmt.Sprintf("`%s` is not a color the Hub offers for `%s`", sanitize(v.text, 30), k),
				fmt.Sprintf("use one of %s", strings.Join(quoteAll(spaceColors()), ", ")))
		}
	}
	for _, k := range []string{"fullWidth", "pinned", "hf_oauth", "disable_embedding"} {
		if v := m.get(k); v != nil && v.kind != kindNull && v.kind != kindBool {
			c.add(checkSpaceConfig, k, v.pos, fmt.Sprintf("`%s` must be true or false, not %s", k, v.kind), "")
		}
	}
	c.checkVersions(sdk)
	c.checkAppFile(sdk)
	c.checkAppPort(sdk)
	if v := c.spaceString("base_path"); v != nil && !strings.HasPrefix(v.text, "/") {
		c.add(checkSpaceConfig, "base_path", v.pos, "`base_path` must start with `/`", fmt.Sprintf("use `/%s`", sanitize(v.text, 60)))
	}
	if v := c.spaceString("header"); v != nil && v.text != "mini" && v.text != "default" {
		c.add(checkSpaceConfig, "header", v.pos, fmt.Sprintf("`header` is `%s`; the Hub takes `mini` or `default`", sanitize(v.text, 30)), "")
	}
	if v := c.spaceString("short_description"); v != nil {
		if n := utf8.RuneCountInString(v.text); n > maxShortDescription {
			c.add(checkSpaceConfig, "short_description", v.pos,
				fmt.Sprintf("`short_description` is %d characters; the Hub rejects more than %d", n, maxShortDescription),
				"shorten it; put the longer description in the card's text")
		}
	}
	if v := c.spaceString("suggested_hardware"); v != nil && !contains(spaceHardware(), v.text) {
		fix := "use one of " + strings.Join(quoteAll(spaceHardware()), ", ")
		if near := suggest(spaceHardware(), v.text); near != "" {
			fix = near
		}
		c.add(checkSpaceConfig, "suggested_hardware", v.pos,
			fmt.Sprintf("`%s` is not a hardware flavor of the Hub", sanitize(v.text, 40)), fix)
	}
	if v := m.get("suggested_storage"); v != nil && v.kind != kindNull {
		c.add(checkSpaceDeprecated, "suggested_storage", v.pos,
			"`suggested_storage` is ignored: Spaces no longer offer persistent storage",
			"remove it; attach a storage bucket as a volume, or keep state in a dataset repo")
	}
	c.checkRepoIDs(c.stringsOf(m.get("models"), "models", checkSpaceConfig, true), "models", "model", checkSpaceRepoIDs,
		"the Hub cannot link the Space to it")
	c.checkRepoIDs(c.stringsOf(m.get("datasets"), "datasets", checkSpaceConfig, true), "datasets", "dataset", checkSpaceRepoIDs,
		"the Hub cannot link the Space to it")
	c.stringsOf(m.get("tags"), "tags", checkFieldType, true)
	c.checkOAuth()
	if v := m.get("startup_duration_timeout"); v != nil && v.kind != kindNull {
		if v.kind != kindString || !durationRe.MatchString(v.text) {
			c.add(checkSpaceConfig, "startup_duration_timeout", v.pos,
				"`startup_duration_timeout` must be a duration such as `1h` or `30m`", "write a number followed by its unit, such as `45m`")
		}
	}
	c.checkCustomHeaders()
	c.checkPreload()
	if v := m.get("license"); v != nil {
		c.checkLicense()
	}
}

// checkSDK checks `sdk`, without which the Hub cannot build the Space, and
// returns it ("" when unusable).
func (c *checker) checkSDK() string {
	v := c.meta.get("sdk")
	switch {
	case v == nil || v.kind == kindNull:
		if v == nil {
			c.add(checkSpaceSDK, "sdk", c.fm.open, "no `sdk`: the Hub does not know how to build and run the Space",
				"add `sdk:` with `gradio`, `docker` or `static`")
		}
		return ""
	case v.kind != kindString:
		c.add(checkSpaceSDK, "sdk", v.pos, fmt.Sprintf("`sdk` must be `gradio`, `docker` or `static`, not %s", v.kind), "")
		return ""
	}
	switch v.text {
	case "gradio", "docker", "static":
		return v.text
	case "streamlit":
		c.add(checkSpaceDeprecated, "sdk", v.pos,
			"Streamlit is no longer a built-in Space SDK; the Hub now runs Streamlit apps with the Docker SDK",
			"use `sdk: docker` with a Dockerfile that starts Streamlit (the Hub's Streamlit template does)")
		return v.text
	}
	fix := "use `gradio`, `docker` or `static`"
	if l := strings.ToLower(strings.TrimSpace(v.text)); l == "gradio" || l == "docker" || l == "static" {
		fix = fmt.Sprintf("use `%s`", l)
	}
	c.add(checkSpaceSDK, "sdk", v.pos, fmt.Sprintf("`%s` is not a Space SDK; the Hub cannot build the Space", sanitize(v.text, 40)), fix)
	return ""
}

// spaceString returns a field that must be a string, reporting any other
// type; nil when absent, empty or of the wrong type.
func (c *checker) spaceString(key string) *node {
	v := c.meta.get(key)
	if v == nil || v.kind == kindNull {
		return nil
	}
	if v.kind != kindString {
		fix := ""
		if v.kind == kindInt || v.kind == kindFloat || v.kind == kindBool {
			fix = fmt.Sprintf("quote it: `%s: \"%s\"`", key, sanitize(v.text, 40))
		}
		c.add(checkSpaceConfig, key, v.pos, fmt.Sprintf("`%s` must be a string, not %s", key, v.kind), fix)
		return nil
	}
	return v
}

// checkVersions checks python_version and sdk_version. Both are strings:
// an unquoted 3.10 is the number 3.1 to YAML, so the Space would get the
// wrong Python.
func (c *checker) checkVersions(sdk string) {
	if v := c.meta.get("python_version"); v != nil && v.kind != kindNull {
		switch {
		case v.kind == kindFloat || v.kind == kindInt:
			c.add(checkSpaceConfig, "python_version", v.pos,
				fmt.Sprintf("`python_version: %s` is a number to YAML, not a version (3.10 reads as 3.1)", sanitize(v.text, 20)),
				fmt.Sprintf("quote it: `python_version: \"%s\"`", sanitize(v.text, 20)))
		case v.kind != kindString:
			c.add(checkSpaceConfig, "python_version", v.pos, fmt.Sprintf("`python_version` must be a string, not %s", v.kind), "")
		case !pythonVersionRe.MatchString(v.text):
			c.add(checkSpaceConfig, "python_version", v.pos,
				fmt.Sprintf("`%s` is not a Python version the Hub accepts (`3.x` or `3.x.x`)", sanitize(v.text, 30)),
				"use a version such as `\"3.10\"` or `\"3.12.4\"`")
		}
	}
	v := c.meta.get("sdk_version")
	if v == nil || v.kind == kindNull {
		return
	}
	if v.kind == kindFloat || v.kind == kindInt {
		c.add(checkSpaceConfig, "sdk_version", v.pos,
			fmt.Sprintf("`sdk_version: %s` is a number to YAML, not a version", sanitize(v.text, 20)),
			fmt.Sprintf("quote it: `sdk_version: \"%s\"`", sanitize(v.text, 20)))
	} else if v.kind != kindString {
		c.add(checkSpaceConfig, "sdk_version", v.pos, fmt.Sprintf("`sdk_version` must be a string, not %s", v.kind), "")
	}
	if sdk == "docker" || sdk == "static" {
		c.add(checkSpaceUnused, "sdk_version", v.pos,
			fmt.Sprintf("`sdk_version` is only read for Gradio (and Streamlit) Spaces; a %s Space ignores it", sdk),
			"remove it, or pin versions in the Dockerfile or build instead")
	}
}

// checkAppFile checks that the file a Gradio, Streamlit or static Space
// runs is in the repo. Docker Spaces run their Dockerfile instead.
func (c *checker) checkAppFile(sdk string) {
	v := c.spaceString("app_file")
	if sdk == "docker" {
		if _, ok := c.byPath["Dockerfile"]; !ok {
			fix := "add a Dockerfile at the repo root"
			if actual, ok := c.byLower["dockerfile"]; ok {
				fix = fmt.Sprintf("rename `%s` to `Dockerfile`: paths on the Hub are case-sensitive", sanitize(actual, 60))
			}
			at := c.fm.open
			if p, ok := c.meta.getPair("sdk"); ok {
				at = p.val.pos
			}
			c.add(checkSpaceAppFile, "sdk", at, "`sdk: docker` but the repo has no Dockerfile, so the Space cannot build", fix)
		}
		return
	}
	if v == nil || c.meta.get("app_build_command") != nil {
		return // a built static Space's app_file is an output of the build
	}
	rel := path.Clean(strings.TrimPrefix(v.text, "./"))
	if _, ok := c.byPath[rel]; ok {
		return
	}
	fix := "commit the file, or point app_file at the file that starts the app"
	if actual, ok := c.byLower[strings.ToLower(rel)]; ok {
		fix = fmt.Sprintf("the file is named `%s`; paths on the Hub are case-sensitive", sanitize(actual, 80))
	}
	c.add(checkSpaceAppFile, "app_file", v.pos,
		fmt.Sprintf("`app_file` is `%s`, which is not in the repo, so the Space cannot start", sanitize(v.text, 80)), fix)
}

func (c *checker) checkAppPort(sdk string) {
	v := c.meta.get("app_port")
	if v == nil || v.kind == kindNull {
		return
	}
	if v.kind != kindInt {
		fix := ""
		if v.kind == kindString {
			fix = fmt.Sprintf("write the port unquoted: `app_port: %s`", sanitize(v.text, 10))
		}
		c.add(checkSpaceConfig, "app_port", v.pos, fmt.Sprintf("`app_port` must be a port number, not %s", v.kind), fix)
		return
	}
	if n, ok := smallInt(v.text); !ok || n < 1 || n > 65535 {
		c.add(checkSpaceConfig, "app_port", v.pos, fmt.Sprintf("`%s` is not a port number (1 to 65535)", sanitize(v.text, 20)),
			"use the port the app listens on; the default is 7860")
		return
	}
	if sdk != "" && sdk != "docker" {
		c.add(checkSpaceUnused, "app_port", v.pos, fmt.Sprintf("`app_port` is only read for Docker Spaces; a %s Space ignores it", sdk),
			"remove it")
	}
}

// checkOAuth checks the Sign-in-with-HF settings.
func (c *checker) checkOAuth() {
	m := c.meta
	on := m.get("hf_oauth")
	enabled := on != nil && on.kind == kindBool && strings.EqualFold(on.text, "true")
	for _, it := range c.stringsOf(m.get("hf_oauth_scopes"), "hf_oauth_scopes", checkSpaceConfig, true) {
		if !contains(oauthScopes(), it.s) {
			fix := "use scopes from https://huggingface.co/docs/hub/oauth, such as `read-repos` or `inference-api`"
			if near := suggest(oauthScopes(), it.s); near != "" {
				fix = near
			}
			c.add(checkSpaceConfig, it.field, it.pos, fmt.Sprintf("`%s` is not an OAuth scope of the Hub", sanitize(it.s, 40)), fix)
		}
	}
	if v := m.get("hf_oauth_expiration_minutes"); v != nil && v.kind != kindNull {
		if n, ok := smallInt(v.text); v.kind != kindInt || !ok || n < 1 || n > 43200 {
			c.add(checkSpaceConfig, "hf_oauth_expiration_minutes", v.pos,
				"`hf_oauth_expiration_minutes` must be a whole number of minutes up to 43200 (30 days)", "the default is 480 (8 hours)")
		}
	}
	c.stringsOf(m.get("hf_oauth_authorized_org"), "hf_oauth_authorized_org", checkSpaceConfig, true)
	if enabled {
		return
	}
	for _, k := range []string{"hf_oauth_scopes", "hf_oauth_expiration_minutes", "hf_oauth_authorized_org"} {
		if p, ok := m.getPair(k); ok {
			c.add(checkSpaceUnused, k, p.keyPos, fmt.Sprintf("`%s` has no effect without `hf_oauth: true`", k),
				"add `hf_oauth: true`, or remove the OAuth settings")
		}
	}
}

func (c *checker) checkCustomHeaders() {
	v := c.meta.get("custom_headers")
	if v == nil || v.kind == kindNull {
		return
	}
	if v.kind != kindMap {
		c.add(checkSpaceConfig, "custom_headers", v.pos, fmt.Sprintf("`custom_headers` must be a mapping of header names to values, not %s", v.kind), "")
		return
	}
	for _, p := range v.pairs {
		f := joinField("custom_headers", p.key)
		switch {
		case !contains(customHeaders(), strings.ToLower(p.key)):
			c.add(checkSpaceConfig, f, p.keyPos,
				fmt.Sprintf("`%s` cannot be set: the Hub allows only the COEP, COOP and CORP headers", sanitize(p.key, 60)),
				"remove it")
		case p.key != strings.ToLower(p.key):
			c.add(checkSpaceConfig, f, p.keyPos, "header names in `custom_headers` must be lowercase",
				fmt.Sprintf("use `%s`", strings.ToLower(p.key)))
		}
		if p.val.kind != kindString {
			c.add(checkSpaceConfig, f, p.val.pos, fmt.Sprintf("a header value must be a string, not %s", p.val.kind), "")
		} else if p.val.text != strings.ToLower(p.val.text) {
			c.add(checkSpaceConfig, f, p.val.pos, "header values in `custom_headers` must be lowercase",
				fmt.Sprintf("use `%s`", sanitize(strings.ToLower(p.val.text), 60)))
		}
	}
}

// checkPreload checks preload_from_hub entries: "repo", "repo file1,file2"
// or "repo files revision".
func (c *checker) checkPreload() {
	for _, it := range c.stringsOf(c.meta.get("preload_from_hub"), "preload_from_hub", checkSpaceConfig, true) {
		parts := strings.Fields(it.s)
		if len(parts) == 0 || len(parts) > 3 {
			c.add(checkSpaceConfig, it.field, it.pos,
				"a `preload_from_hub` entry is `REPO`, `REPO FILE,FILE` or `REPO FILE,FILE REVISION`",
				"separate the repo, the files and the revision with single spaces")
			continue
		}
		repo := parts[0]
		for _, prefix := range []string{"datasets/", "spaces/"} {
			repo = strings.TrimPrefix(repo, prefix)
		}
		c.checkRepoIDs([]strItem{{repo, it.pos, it.field}}, "preload_from_hub", "model", checkSpaceRepoIDs,
			"the Hub cannot download it while building the Space")
	}
}

// emojiOnly reports whether s has no letters, digits or blanks: the Hub
// takes one emoji (which may be several code points) and nothing else.
func emojiOnly(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || r < 0x80 && r != '#' && r != '*' {
			return false
		}
	}
	return true
}

// suggest proposes the values of list that s probably means: the closest
// one, or else those it is the start of (`t4` for `t4-small`); "" when
// none is near.
func suggest(list []string, s string) string {
	if g := parseVocab(strings.Join(list, "\n")).closest(s); g != "" {
		return fmt.Sprintf("use `%s`", g)
	}
	var near []string
	for _, v := range list {
		if len(s) >= 2 && strings.HasPrefix(v, strings.ToLower(s)) {
			near = append(near, v)
		}
	}
	if len(near) == 0 {
		return ""
	}
	return "use one of " + strings.Join(quoteAll(near), ", ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// smallInt parses a decimal integer of at most 9 digits.
func smallInt(s string) (int, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		n = n*10 + int(ch-'0')
	}
	return n, true
}
