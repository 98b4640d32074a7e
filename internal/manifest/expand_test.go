package manifest

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := envLookup(map[string]string{"A": "a", "EMPTY": "", "PORT": "2222", "N1": "x"})
	tests := []struct {
		in, want string
		unset    []string
		err      string
	}{
		{in: "", want: ""},
		{in: "plain text", want: "plain text"},
		{in: "${A}", want: "a"},
		{in: "x${A}y${A}z", want: "xayaz"},
		{in: "${NOPE}", want: "", unset: []string{"NOPE"}},
		{in: "${NOPE:-def}", want: "def"},
		{in: "${EMPTY:-def}", want: "def"},
		{in: "${EMPTY}", want: ""},
		{in: "${PORT:-22}", want: "2222"},
		{in: "${A:-}", want: "a"},
		{in: "${NOPE:-}", want: ""},
		{in: "${NOPE:-a b: c}", want: "a b: c"},
		{in: "${NOPE:-${A}}", want: "a"},
		{in: "${NOPE:-${NOPE2:-deep}}", want: "deep"},
		{in: "${NOPE:-${NOPE2}}", want: "", unset: []string{"NOPE2"}},
		{in: "${A:-${NOPE2}}", want: "a"},
		{in: "${N1}", want: "x"},
		{in: "$$", want: "$"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$${A}", want: "$${A}"},
		{in: "$$${A}", want: "$a"},
		{in: "${NOPE:-$$}", want: "$"},
		{in: "$HOME $1 $", want: "$HOME $1 $"},
		{in: "a$", want: "a$"},
		{in: "}", want: "}"},
		{in: "${A}}", want: "a}"},
		{in: "${", err: `bad reference "${": want a variable name`},
		{in: "${}", err: `bad reference "${}": want a variable name`},
		{in: "${1A}", err: `bad reference "${1A}": want a variable name`},
		{in: "${A", err: `bad reference "${A": missing "}"`},
		{in: "${A:-x", err: `bad reference "${A:-x": missing "}"`},
		{in: "${A:-${B}", err: `bad reference "${A:-${B}": missing "}"`},
		{in: "${A:-${}}", err: `bad reference "${}": want a variable name`},
		{in: "${A-x}", err: `bad reference "${A-x}": want "}" or ":-default}" after the name`},
		{in: "${A:?x}", err: `want "}" or ":-default}"`},
		{in: "${A B}", err: `want "}" or ":-default}"`},
		{in: "${" + strings.Repeat("X", 100), err: `bad reference "${XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX..."`},
		{in: strings.Repeat("${A:-", 20) + strings.Repeat("}", 20), err: "nested more than 16 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, unset, err := Expand(tt.in, env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Expand(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || !reflect.DeepEqual(unset, tt.unset) {
				t.Errorf("Expand(%q) = %q, %q, %v; want %q, %q", tt.in, got, unset, err, tt.want, tt.unset)
			}
		})
	}
}

func TestExpandNilLookup(t *testing.T) {
	got, unset, err := Expand("${A:-x}${B}", nil)
	if got != "x" || !reflect.DeepEqual(unset, []string{"B"}) || err != nil {
		t.Errorf("got %q %q %v", got, unset, err)
	}
}

// escape is how a user writes a literal s: every "$" doubled.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func FuzzExpand(f *testing.F) {
	for _, seed := range []string{"", "x", "${A}", "${A:-b}", "$$", "${A:-${B:-c}}", "${", "${A", "${A:-", "$}", "}${", "${X:-$$}"} {
		f.Add(seed)
	}
	env := envLookup(map[string]string{"A": "a$b}", "B": ""})
	f.Fuzz(func(t *testing.T, s string) {
		out, _, err := Expand(s, env)
		if err == nil && !strings.Contains(s, "$") && out != s {
			t.Fatalf("Expand(%q) = %q: text without $ must not change", s, out)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("Expand(%q) error has a newline: %q", s, err)
		}
		// A "$$"-escaped string always comes back exactly.
		back, unset, err := Expand(escape(s), env)
		if err != nil || back != s || unset != nil {
			t.Fatalf("Expand(escape(%q)) = %q, %q, %v", s, back, unset, err)
		}
	})
}
