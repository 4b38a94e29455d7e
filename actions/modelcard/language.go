package modelcard

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// The rule for `language`, as the Hub documents it: each entry is an ISO
// 639-1 code (two letters), an ISO 639-2 or 639-3 code (three letters), or
// one of the special values `multilingual` and `code`. golang.org/x/text
// knows every registered ISO 639 base code (both 639-2 forms, 639-3,
// collective and private-use codes), which is what language.ParseBase
// accepts for two or three letters. Codes are written in lowercase.
// Regional or script variants (`en-US`, `zh-Hans`) belong in
// `language_bcp47`, not in `language`.

func (c *checker) checkLanguages() {
	v := c.meta.get("language")
	for _, it := range c.stringsOf(v, "language", checkLanguage, true) {
		c.checkLanguageCode(it)
	}
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if (ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z') {
			return false
		}
	}
	return s != ""
}

func (c *checker) checkLanguageCode(it strItem) {
	s := it.s
	if s == "multilingual" || s == "code" {
		return
	}
	lower := strings.ToLower(s)
	q := sanitize(s, 40)
	if lower == "multilingual" || lower == "code" {
		c.add(checkLanguageForm, it.field, it.pos, fmt.Sprintf("`%s` should be written in lowercase", q), fmt.Sprintf("use `%s`", lower))
		return
	}
	if isASCIILetters(s) && (len(s) == 2 || len(s) == 3) {
		base, err := language.ParseBase(lower)
		if err != nil {
			c.add(checkLanguage, it.field, it.pos,
				fmt.Sprintf("`%s` is not an ISO 639 language code; the Hub cannot list the %s under a language", q, c.typ.noun()),
				"use an ISO 639-1 code such as `en`, `fr`, `zh`, or an ISO 639-3 code such as `yue`")
			return
		}
		if s != lower {
			c.add(checkLanguageForm, it.field, it.pos, fmt.Sprintf("language codes are lowercase: `%s`", q), fmt.Sprintf("use `%s`", lower))
		}
		if current := currentCode(base); current != "" && current != lower {
			c.add(checkLanguageForm, it.field, it.pos,
				fmt.Sprintf("`%s` is a withdrawn code for %s", lower, display.English.Languages().Name(base)),
				fmt.Sprintf("use `%s`", current))
		}
		return
	}
	if strings.ContainsAny(s, "-_") {
		if tag, err := language.Parse(s); err == nil {
			if base, conf := tag.Base(); conf != language.No && base.String() != "und" {
				c.add(checkLanguageForm, it.field, it.pos,
					fmt.Sprintf("`%s` is a BCP 47 tag; `language` takes ISO 639 codes, so the Hub does not list the %s under it", q, c.typ.noun()),
					fmt.Sprintf("use `%s` in `language`, and put `%s` in `language_bcp47` if the variant matters", base, sanitize(tag.String(), 40)))
				return
			}
		}
	}
	fix := "use an ISO 639-1 code such as `en`, `fr`, `zh`, or `multilingual`"
	msg := fmt.Sprintf("`%s` is not an ISO 639 code nor `multilingual` or `code`; the Hub cannot list the %s under it", q, c.typ.noun())
	if code := c.languageByName(s); code != "" {
		msg = fmt.Sprintf("`%s` is a language name; `language` takes codes", q)
		fix = fmt.Sprintf("use `%s`", code)
	}
	c.add(checkLanguage, it.field, it.pos, msg, fix)
}

// currentCode returns the code that replaced a withdrawn one (iw -> he,
// in -> id, ji -> yi, jw -> jv, mo -> ro), or "".
func currentCode(base language.Base) string {
	tag, err := language.Raw.Compose(base)
	if err != nil {
		return ""
	}
	canon, err := language.Deprecated.Canonicalize(tag)
	if err != nil {
		return ""
	}
	b, _ := canon.Base()
	if b == base {
		return ""
	}
	return b.String()
}

// languageByName maps an English or native language name ("English",
// "français") to its two-letter code. The table is built on first use.
func (c *checker) languageByName(name string) string {
	if c.langNames == nil {
		c.langNames = make(map[string]string)
		english := display.English.Languages()
		for a := 'a'; a <= 'z'; a++ {
			for b := 'a'; b <= 'z'; b++ {
				code := string([]rune{a, b})
				base, err := language.ParseBase(code)
				if err != nil || currentCode(base) != "" {
					continue
				}
				tag, err := language.Raw.Compose(base)
				if err != nil {
					continue
				}
				for _, n := range []string{english.Name(base), display.Self.Name(tag)} {
					if n = strings.ToLower(n); n != "" {
						if _, taken := c.langNames[n]; !taken {
							c.langNames[n] = code
						}
					}
				}
			}
		}
	}
	return c.langNames[strings.ToLower(strings.TrimSpace(name))]
}
