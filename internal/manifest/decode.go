package manifest

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"alpine-server/internal/manifest/yaml"
)

// decoder turns YAML nodes into typed values, expanding variables and
// collecting every problem with its line instead of stopping at the first.
type decoder struct {
	file     string
	lookup   func(string) (string, bool)
	errs     []error
	warnings []string
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// maxAliasHops bounds alias chains so a hostile document cannot loop.
const maxAliasHops = 64

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < maxAliasHops && n != nil && n.Kind == yaml.AliasNode; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports a YAML null: `key:`, `~`, `null` written plainly.
func isNull(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false
	}
	switch n.Value {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// scalar returns the expanded text of a scalar node; ok is false (and an
// error recorded) when n is not a scalar or its references are malformed.
func (d *decoder) scalar(key string, n *yaml.Node) (string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.ScalarNode {
		d.errorf(lineOf(n), "%s: want a single value, got %s", key, kindName(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	v, unset, err := Expand(n.Value, d.lookup)
	if err != nil {
		d.errorf(n.Line, "%s: %v", key, err)
		return "", false
	}
	for _, name := range unset {
		d.warnings = append(d.warnings, fmt.Sprintf("%s:%d: %s: ${%s} is not set, using \"\"", d.file, n.Line, key, name))
	}
	return v, true
}

func (d *decoder) str(key string, n *yaml.Node) string {
	v, _ := d.scalar(key, n)
	return v
}

// boolean accepts YAML 1.2's spellings only: "yes"/"on" are errors rather
// than silently different meanings across YAML versions.
func (d *decoder) boolean(key string, n *yaml.Node, def bool) bool {
	v, ok := d.scalar(key, n)
	switch {
	case !ok || v == "":
		return def
	case v == "true" || v == "True" || v == "TRUE":
		return true
	case v == "false" || v == "False" || v == "FALSE":
		return false
	}
	d.errorf(lineOf(n), "%s: want true or false, got %q", key, v)
	return def
}

// duration parses a Go duration (SPEC §4). Every duration of a manifest
// must be more than 0: none of them has a sensible meaning at 0.
func (d *decoder) duration(key string, n *yaml.Node, def time.Duration) time.Duration {
	v, ok := d.scalar(key, n)
	if !ok || v == "" {
		return def
	}
	t, err := time.ParseDuration(v)
	switch {
	case err != nil:
		d.errorf(lineOf(n), "%s: want a duration like 200ms, 5s or 1m, got %q", key, v)
	case t <= 0:
		d.errorf(lineOf(n), "%s: must be more than 0, got %q", key, v)
	default:
		return t
	}
	return def
}

// oneOf reads an enumerated value; "" (absent) gives "".
func (d *decoder) oneOf(key string, n *yaml.Node, allowed ...string) string {
	v, ok := d.scalar(key, n)
	if !ok || v == "" {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	d.errorf(lineOf(n), "%s: want one of %s, got %q", key, strings.Join(allowed, ", "), v)
	return ""
}

// list reads a sequence of scalars. A plain string is refused rather than
// split, so `command: nginx -g "daemon off;"` cannot be misread.
func (d *decoder) list(key string, n *yaml.Node) []string {
	n = deref(n)
	if n != nil && isNull(n) {
		return nil
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errorf(lineOf(n), "%s: want a list like [a, b], got %s", key, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		v, _ := d.scalar(fmt.Sprintf("%s[%d]", key, i), item)
		out = append(out, v)
	}
	return out
}

// strMap reads a mapping of scalar keys to scalar values.
func (d *decoder) strMap(key string, n *yaml.Node) map[string]string {
	n = deref(n)
	if n != nil && isNull(n) {
		return nil
	}
	if n == nil || n.Kind != yaml.MappingNode {
		d.errorf(lineOf(n), "%s: want a mapping of NAME: value, got %s", key, kindName(n))
		return nil
	}
	out := make(map[string]string, len(n.Content)/2)
	d.pairs(key, n, func(k string, kn, v *yaml.Node) {
		if !validEnvName(k) {
			d.errorf(kn.Line, "%s: bad variable name %q (want no \"=\", no NUL, not empty)", key, k)
			return
		}
		out[k] = d.str(key+"."+k, v)
	})
	return out
}

// prefix returns "where: " or "" at the top level.
func prefix(where string) string {
	if where == "" {
		return ""
	}
	return where + ": "
}

// pairs calls fn for each key of a mapping, refusing non-scalar and
// duplicate keys (yaml.v3's Node API does not check duplicates itself).
func (d *decoder) pairs(where string, n *yaml.Node, fn func(key string, keyNode, value *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := deref(n.Content[i])
		if kn == nil || kn.Kind != yaml.ScalarNode {
			d.errorf(lineOf(n.Content[i]), "%swant a plain key, got %s", prefix(where), kindName(kn))
			continue
		}
		if prev, dup := seen[kn.Value]; dup {
			d.errorf(kn.Line, "%skey %q already set at line %d", prefix(where), kn.Value, prev)
			continue
		}
		seen[kn.Value] = kn.Line
		fn(kn.Value, kn, n.Content[i+1])
	}
}

func validEnvName(k string) bool {
	return k != "" && !strings.ContainsAny(k, "=\x00")
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

func kindName(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	case n.Kind == yaml.AliasNode:
		return "an unresolved alias"
	}
	return "a document"
}

// unknownKey reports key with the closest known key as a hint.
func (d *decoder) unknownKey(where string, kn *yaml.Node, known []string) {
	msg := fmt.Sprintf("%sunknown key %q", prefix(where), kn.Value)
	if s := closest(kn.Value, known); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	d.errorf(kn.Line, "%s; known keys: %s", msg, strings.Join(sorted, ", "))
}

// closest returns the known word within edit distance 2 of w, if any.
func closest(w string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(w, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is Levenshtein's distance between short ASCII-ish keys.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99 // keys that long are not typos of ours
	}
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
