package actions

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Options are the raw `[actions.with]` values of one action, as decoded from
// config.toml. Each action decodes them into its own struct with Decode, so
// the config package needs to know nothing about any action.
type Options map[string]any

// OptionError is an invalid option. Key is the dotted path below `with`, so
// the config loader can point at the line that holds it.
type OptionError struct {
	Key string
	Msg string
}

func (e *OptionError) Error() string {
	if e.Key == "" {
		return e.Msg
	}
	return fmt.Sprintf("with.%s: %s", e.Key, e.Msg)
}

// Decode decodes the options into v (a pointer to a struct with toml tags),
// strictly: an unknown key or a value of the wrong type is an *OptionError.
func (o Options) Decode(v any) error {
	if len(o) == 0 {
		return nil
	}
	raw, err := toml.Marshal(map[string]any(o))
	if err != nil {
		return &OptionError{Msg: fmt.Sprintf("cannot encode options: %v", err)}
	}
	dec := toml.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		first := strict.Errors[0]
		return &OptionError{Key: strings.Join(first.Key(), "."), Msg: "unknown option"}
	}
	var decErr *toml.DecodeError
	if errors.As(err, &decErr) {
		return &OptionError{Key: strings.Join(decErr.Key(), "."), Msg: decErr.Error()}
	}
	if err != nil {
		return &OptionError{Msg: err.Error()}
	}
	return nil
}
