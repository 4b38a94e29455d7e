package chatops

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  error
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "run model-card", want: []string{"run", "model-card"}},
		{in: "  run\t model-card  ", want: []string{"run", "model-card"}},
		{in: "a\u00a0b\u3000c", want: []string{"a", "b", "c"}},
		{in: `'a b' "c d"`, want: []string{"a b", "c d"}},
		{in: `'it''s'`, want: []string{"its"}},
		{in: `"say \"hi\" \\ \n"`, want: []string{`say "hi" \ \n`}},
		{in: `a\ b`, want: []string{"a b"}},
		{in: `model\_card`, want: []string{"model_card"}},
		{in: `trailing\`, want: []string{`trailing\`}},
		{in: "`a b` ``c ` d``", want: []string{"a b", "c ` d"}},
		{in: "` x `", want: []string{"x"}},
		{in: "“a b” c", want: []string{"a b", "c"}},
		{in: "don’t", want: []string{"don’t"}},
		{in: "$HOME $(id) `id`; rm -rf / | cat > x", want: []string{"$HOME", "$(id)", "id;", "rm", "-rf", "/", "|", "cat", ">", "x"}},
		{in: "a" + string(filler) + "b " + string(filler), want: []string{"ab"}},
		{in: `"a` + string(filler) + `b"`, want: []string{"ab"}},
		{in: `'open`, err: errUnterminated},
		{in: `"open`, err: errUnterminated},
		{in: "“open\"", err: errUnterminated},
		{in: "``open`", err: errUnterminated},
		{in: strings.Repeat("a ", maxArgs+1), err: errTooManyArgs},
		{in: strings.Repeat("a", maxArgBytes+1), err: errArgTooLong},
		{in: strings.Repeat(" ", maxLineBytes+1), err: errLineTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := splitArgs(tc.in)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
