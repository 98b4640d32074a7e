package yaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yamlv3 "go.yaml.in/yaml/v3"
)

// reference parses data with yaml.v3, the parser this package replaces.
func reference(data []byte) (docs []*yamlv3.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml.v3 panicked: %v", r)
		}
	}()
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, err
		}
		docs = append(docs, &doc)
	}
}

// same describes the first difference between our node and yaml.v3's, or
// is "". Lines of empty (null) scalars are not compared: yaml.v3 gives
// them the line of the token after them.
func same(path string, a *Node, b *yamlv3.Node) string {
	switch {
	case a == nil && b == nil:
		return ""
	case a == nil || b == nil:
		return fmt.Sprintf("%s: node %v vs %v", path, a, b)
	case uint32(a.Kind) != uint32(b.Kind):
		return fmt.Sprintf("%s: kind %d vs %d", path, a.Kind, b.Kind)
	case a.Value != b.Value && a.Kind != DocumentNode && a.Kind != MappingNode && a.Kind != SequenceNode:
		return fmt.Sprintf("%s: value %q vs %q", path, a.Value, b.Value)
	case a.Anchor != b.Anchor:
		return fmt.Sprintf("%s: anchor %q vs %q", path, a.Anchor, b.Anchor)
	case quoted(a.Style) != (b.Style&(yamlv3.SingleQuotedStyle|yamlv3.DoubleQuotedStyle|yamlv3.LiteralStyle|yamlv3.FoldedStyle) != 0):
		return fmt.Sprintf("%s: style %d vs %d", path, a.Style, b.Style)
	case a.Line != b.Line && !(a.Kind == ScalarNode && a.Value == "" && a.Style == 0) && a.Kind != DocumentNode:
		return fmt.Sprintf("%s: line %d vs %d", path, a.Line, b.Line)
	case len(a.Content) != len(b.Content):
		return fmt.Sprintf("%s: %d children vs %d", path, len(a.Content), len(b.Content))
	case a.Kind == AliasNode && (a.Alias == nil) != (b.Alias == nil):
		return fmt.Sprintf("%s: alias target", path)
	}
	for i := range a.Content {
		if d := same(fmt.Sprintf("%s/%d", path, i), a.Content[i], b.Content[i]); d != "" {
			return d
		}
	}
	return ""
}

func quoted(s Style) bool {
	return s&(SingleQuotedStyle|DoubleQuotedStyle|LiteralStyle|FoldedStyle) != 0
}

// compare fails t when Parse accepts data and yaml.v3 does not, or reads
// it differently.
func compare(t testing.TB, data []byte) (ours []*Node, err error) {
	t.Helper()
	ours, err = Parse(data)
	if err != nil {
		return nil, err
	}
	theirs, terr := reference(data)
	if terr != nil {
		t.Fatalf("accepted %q, which yaml.v3 refuses: %v", data, terr)
	}
	if len(ours) != len(theirs) {
		t.Fatalf("%q: %d documents, yaml.v3 %d", data, len(ours), len(theirs))
	}
	for i := range ours {
		if d := same(fmt.Sprint(i), ours[i], theirs[i]); d != "" {
			t.Fatalf("%q: %s", data, d)
		}
	}
	return ours, nil
}

// docsYAML are the YAML blocks of the README and the docs.
func docsYAML(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	root := filepath.Join("..", "..", "..")
	for _, f := range []string{"README.md", "docs/ARCHITECTURE.md", "docs/CONTRACTS.md"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, block := range strings.Split(string(b), "```yaml\n")[1:] {
			out[fmt.Sprintf("%s block %d", f, i+1)] = []byte(strings.SplitN(block, "```", 2)[0])
		}
	}
	return out
}

// TestEveryManifestOfTheRepo: every manifest of the image, the examples,
// the README and the docs parses exactly as yaml.v3 parses it.
func TestEveryManifestOfTheRepo(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	files := docsYAML(t)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return err
		}
		if d.Name() == "manifest.yml" {
			b, err := os.ReadFile(path)
			files[path] = b
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d manifests", len(files))
	}
	for name, data := range files {
		if _, err := compare(t, data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSameAsYAMLv3 covers the supported subset, case by case.
func TestSameAsYAMLv3(t *testing.T) {
	for _, s := range []string{
		"", "# only a comment\n", "---\n", "a: 1\n", "a: 1\r\nb: 2\r\n", "\ufeffa: 1\n",
		"a:\n  b: 1\n  c:\n    d: x\n", "a:\n- 1\n- 2\nb: 3\n", "a:\n  - 1\n  -  2\n", "- a\n- b\n",
		"- a: 1\n  b: 2\n- c: 3\n", "- - a\n  - b\n- c\n", "-\n  a: 1\n", "a: [1, 2, [3, 4], {x: y}]\n",
		"a: {b: 1, c: [d], 'e': \"f\"}\n", "a: [\n  1,\n  2,\n]\n", "a: [a:b, 'c', \"d\"]\n", "{a: 1, b}\n",
		"a: 'it''s'\n", "a: \"q\\\"\\n\\t\\\\\\x41\\u00e9\\U0001F600\\ \"\n", "a: 'one\n  two\n\n  three'\n",
		"a: \"one\\\n  two\"\n", "a: plain\n  continued\n\n  para\n", "a: x # comment\nb: y#not\n",
		"a: |\n  line 1\n  line 2\nb: 1\n", "a: |-\n  x\n\n", "a: |+\n  x\n\n\nb: 1\n", "a: >\n  one\n  two\n\n  three\n   more\n  four\n",
		"a: >2\n   indented\n  x\n", "a: |\n\n  after blank\n", "- |\n  x\n- y\n", "|\n a\n b\n",
		"a: &x 1\nb: *x\n", "a: &m\n  k: v\nb: *m\n", "a: &s [1]\nb: [*s, *s]\n", "&k key: v\nother: *k\n",
		"a:\n", "a: ~\nb: null\nc: ''\n", "'quoted key': 1\n\"dq\": 2\n", "a: -1\nb: -x\nc: :x\nd: ?y\n",
		"url: http://x:80/a?b=c#d\n", "a: b, c\n", "a: x]\n", "---\na: 1\n...\n", "a: 1\n---\nb: 2\n",
		"a:   \t spaced\n", "k: v\t# tab then comment\n", "a: [1, # c\n  2]\n", "a:\n  # comment\n  b: 1\n",
		"  a: 1\n  b: 2\n", "a: \"x\ny\"\n", "e: \"\"\n", "a: {}\nb: []\n", "\"a\" : 1\n",
		"enabled: true\nenabled: false\n", "a: b\n\n\n", "a: 'x'   \n", "- [a, b]\n- {c: d}\n",
	} {
		t.Run(s, func(t *testing.T) {
			if _, err := compare(t, []byte(s)); err != nil {
				t.Errorf("Parse(%q): %v", s, err)
			}
		})
	}
}

// TestRefused: what is outside the subset or not YAML at all is an error
// with its line.
func TestRefused(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a: !!str 1\n", "line 1: tags (!!str, !name) are not supported: quote the value instead"},
		{"%YAML 1.2\n---\na: 1\n", "line 1: directives (%YAML, %TAG) are not supported"},
		{"? a\n: b\n", "line 1: explicit keys (?) are not supported"},
		{"[a]: b\n", "line 1: mapping values are not allowed in this context"},
		{"a: [b: c]\n", "line 1: key: value pairs inside a flow list are not supported: use {key: value}"},
		{"--- a: 1\n", `line 1: put the document on the lines after "---"`},
		{"a:\n\tb: 1\n", "line 2: found character that cannot start any token"},
		{"a: b\x01\n", "line 1: control characters are not allowed"},
		{"\n\na: \xff\n", "line 3: invalid UTF-8"},
		{"a: \u2028\n", "line 1: line separators U+0085, U+2028 and U+2029 are not allowed"},
		{"a: *nope\n", "line 1: unknown anchor 'nope' referenced"},
		{"a: [b, c\n", "line 1: did not find expected ',' or ']'"},
		{"a: {b: 1\n", "line 1: did not find expected ',' or '}'"},
		{"a: 'open\n", "line 1: found unexpected end of stream"},
		{"a: \"\\q\"\n", "line 1: found unknown escape character while parsing a quoted scalar"},
		{"a: \"\\ud800\"\n", "line 1: found invalid Unicode character escape code"},
		{"a: b: c\n", "line 1: mapping values are not allowed in this context"},
		{"- a\nb: 1\n", "line 2: did not find expected '-' indicator"},
		{"a: 1\n b: 2\n", "line 2: mapping values are not allowed in this context"},
		{"a:\n  b: 1\n c: 2\n", "line 3: did not find expected key"},
		{" a: 1\nb: 2\n", "line 2: did not find expected <document start>"},
		{"a: [1,,2]\n", "line 1: did not find expected node content"},
		{"a: |0\n x\n", "line 1: found an indentation indicator equal to 0"},
		{"a: - b\n", "line 1: block sequence entries are not allowed in this context"},
		{"a: @x\n", "line 1: found character that cannot start any token"},
		{strings.Repeat("[", 101) + strings.Repeat("]", 101), "line 1: nested deeper than 100 levels"},
		{strings.Repeat("k", 1025) + ": v\n", "line 1: a key is at most 1024 bytes"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

// FuzzParse: Parse never panics, never accepts what yaml.v3 refuses, and
// reads what it accepts as yaml.v3 does.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"enabled: true\ncommand: [nginx, -g, \"daemon off;\"]\nenvironment:\n  PORT: 8080\nready:\n  tcp: 127.0.0.1:8080\n",
		"a: &x [1, {b: 'c'}]\nb: *x\n", "- a: |\n    x\n  b: >-\n    y\n", "a: \"\\u00e9\\\n  b\"\n",
		"a: plain\n  more\n", "k: {a: [1, 2], b: }\n", "---\na: 1\n...\n", "a:\n- b\n-\n  c: d\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compare(t, data)
	})
}
