package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// maxNesting bounds ${A:-${B:-...}} so hostile input cannot recurse deeply.
const maxNesting = 16

// Expand replaces variable references in s with values from lookup:
//
//   - ${VAR} is VAR's value; an unset VAR expands to "" (and is listed in
//     the second result, so the caller can warn).
//   - ${VAR:-default} is VAR's value, or default when VAR is unset or
//     empty (the shell's ":-"). default is itself expanded, so
//     ${A:-${B:-x}} works; it cannot contain a literal "}".
//   - $$ is a literal "$".
//   - Any other "$" (as in "$HOME" or "$1") is kept as is, so shell
//     snippets pass through untouched.
//
// VAR is [A-Za-z_][A-Za-z0-9_]*. Anything else after "${" — an empty or
// bad name, an operator other than ":-", a missing "}" — is an error
// quoting the reference. A nil lookup treats every variable as unset.
func Expand(s string, lookup func(string) (string, bool)) (out string, unset []string, err error) {
	if !strings.Contains(s, "$") {
		return s, nil, nil
	}
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	e := &expander{src: s, lookup: lookup}
	out, _, err = e.text(0, 0)
	if err != nil {
		return "", nil, err
	}
	if len(e.unset) == 0 {
		return out, nil, nil
	}
	return out, e.unset, nil
}

// errMissingBrace ends a default that runs to the end of the text; the
// reference that opened it turns it into a message quoting itself.
var errMissingBrace = errors.New("missing \"}\"")

type expander struct {
	src    string
	lookup func(string) (string, bool)
	unset  []string
}

// text expands src from i to its end or, inside a default (depth > 0), up
// to the closing "}"; it returns the expansion and the index after it.
func (e *expander) text(i, depth int) (string, int, error) {
	var b strings.Builder
	for i < len(e.src) {
		rest := e.src[i:]
		switch {
		case rest[0] == '}' && depth > 0:
			return b.String(), i + 1, nil
		case strings.HasPrefix(rest, "$$"):
			b.WriteByte('$')
			i += 2
		case strings.HasPrefix(rest, "${"):
			v, next, err := e.ref(i, depth)
			if err != nil {
				return "", 0, err
			}
			b.WriteString(v)
			i = next
		default:
			b.WriteByte(rest[0])
			i++
		}
	}
	if depth > 0 {
		return "", 0, errMissingBrace
	}
	return b.String(), i, nil
}

// ref expands the reference starting at src[start:] == "${...".
func (e *expander) ref(start, depth int) (string, int, error) {
	if depth >= maxNesting {
		return "", 0, e.bad(start, "nested more than %d deep", maxNesting)
	}
	i := start + 2
	j := i
	for j < len(e.src) && isNameByte(e.src[j], j == i) {
		j++
	}
	name := e.src[i:j]
	rest := e.src[j:]
	switch {
	case name == "":
		return "", 0, e.bad(start, "want a variable name ([A-Za-z_][A-Za-z0-9_]*) after \"${\"")
	case strings.HasPrefix(rest, "}"):
		v, ok := e.lookup(name)
		if !ok {
			e.unset = append(e.unset, name)
		}
		return v, j + 1, nil
	case strings.HasPrefix(rest, ":-"):
		return e.withDefault(start, name, j+2, depth)
	case rest == "":
		return "", 0, e.bad(start, "missing \"}\"")
	default:
		return "", 0, e.bad(start, "want \"}\" or \":-default}\" after the name")
	}
}

// withDefault expands the default starting at i and picks it or name's value.
func (e *expander) withDefault(start int, name string, i, depth int) (string, int, error) {
	before := len(e.unset)
	def, next, err := e.text(i, depth+1)
	if errors.Is(err, errMissingBrace) {
		return "", 0, e.bad(start, "missing \"}\"")
	}
	if err != nil {
		return "", 0, err
	}
	if v, ok := e.lookup(name); ok && v != "" {
		e.unset = e.unset[:before] // the default was not used: its unset vars don't matter
		return v, next, nil
	}
	return def, next, nil
}

// bad makes an error quoting the reference at src[start:] (shortened).
func (e *expander) bad(start int, format string, args ...any) error {
	ref := e.src[start:]
	if end := strings.IndexByte(ref, '}'); end >= 0 {
		ref = ref[:end+1]
	}
	if len(ref) > 40 {
		ref = ref[:40] + "..."
	}
	return fmt.Errorf("bad reference %q: %s", ref, fmt.Sprintf(format, args...))
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	default:
		return !first && c >= '0' && c <= '9'
	}
}
