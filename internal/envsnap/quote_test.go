package envsnap

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nasty are values sh must read back byte for byte.
var nasty = []string{
	"", "plain", "with space", `double "quotes"`, `single 'quotes'`,
	`back\slash`, `trailing\`, `\\double`, `\n not a newline`, "$HOME", "${HOME}",
	"$(id)", "`id`", "a\nb", "\n", "trailing newline\n", "\ttab", "!bang!",
	"*?[glob]", "~tilde", "# not a comment", "semi;colon & amp | pipe",
	"ünïcødé ✓ 日本", "\r\ncrlf", "\\\n", "\\\"", "$", "\"", "\x01\x7f\xff",
}

func TestQuote(t *testing.T) {
	tests := map[string]string{
		"":      `""`,
		"a b":   `"a b"`,
		`a"b`:   `"a\"b"`,
		`a\b`:   `"a\\b"`,
		"$x":    `"\$x"`,
		"`x`":   "\"\\`x\\`\"",
		"a\nb":  "\"a\nb\"",
		"'it'":  `"'it'"`,
		"✓ $\\": `"✓ \$\\"`,
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// shells lists the sh implementations here: dash (Debian's sh), bash, and
// busybox ash (Alpine's sh) when installed.
func shells(t *testing.T) [][]string {
	var out [][]string
	for _, sh := range [][]string{{"sh"}, {"bash"}, {"busybox", "sh"}} {
		if _, err := exec.LookPath(sh[0]); err == nil {
			out = append(out, sh)
		}
	}
	if len(out) == 0 {
		t.Skip("no sh on PATH")
	}
	return out
}

func nastySnapshot() *Snapshot {
	s := Capture(nil)
	for i, v := range nasty {
		s.Set(fmt.Sprintf("K%02d", i), v)
	}
	return s
}

// TestQuoteThroughShell writes both files and sources each in real shells:
// every value must come back exactly.
func TestQuoteThroughShell(t *testing.T) {
	dir := t.TempDir()
	env, profile := filepath.Join(dir, "environment"), filepath.Join(dir, "profile.d", "env.sh")
	if err := nastySnapshot().WriteFiles(env, profile, 0o400); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for i := range nasty {
		refs = append(refs, fmt.Sprintf(`"$K%02d"`, i))
	}
	script := `. "$1" && printf '%s\000' ` + strings.Join(refs, " ")
	for _, sh := range shells(t) {
		for _, file := range []string{env, profile} {
			argv := append(append([]string{}, sh...), "-c", script, "sh", file)
			var stderr bytes.Buffer
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Fatalf("%v: %v, stderr %q", argv, err, stderr.String())
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			if !reflect.DeepEqual(got, nasty) {
				t.Errorf("%s . %s: got %q, want %q", sh, filepath.Base(file), got, nasty)
			}
		}
	}
}

// What WriteFiles writes, ReadFile reads back, from both files.
func TestWriteFilesReadFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := nastySnapshot()
	s.Set("a.b", "not a sh name: left out of the files")
	env, profile := filepath.Join(dir, "environment"), filepath.Join(dir, "env.sh")
	if err := s.WriteFiles(env, profile, 0o400); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i, v := range nasty {
		want[fmt.Sprintf("K%02d", i)] = v
	}
	for _, file := range []string{env, profile} {
		got, err := ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ReadFile(%s) = %q, want %q", file, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"comments and blanks", "# c\n\n   \n  # indented\nA=1\n", map[string]string{"A": "1"}},
		{"export", "export A=1\nexport\tB=\"2\"\n", map[string]string{"A": "1", "B": "2"}},
		{"var named export", "export=1\n", map[string]string{"export": "1"}},
		{"double", `A="x \"y\" \$z \\ \a"`, map[string]string{"A": `x "y" $z \ \a`}},
		{"double multi-line", "A=\"l1\nl2\"\nB=3", map[string]string{"A": "l1\nl2", "B": "3"}},
		{"double line continuation", "A=\"l1\\\nl2\"", map[string]string{"A": "l1l2"}},
		{"single", `A='$x \ "y"'`, map[string]string{"A": `$x \ "y"`}},
		{"bare escapes", `A=a\ b\$c\\`, map[string]string{"A": `a b$c\`}},
		{"concatenation", `A=a"b"'c'd`, map[string]string{"A": "abcd"}},
		{"empty values", "A=\nB=\"\"\nC=''", map[string]string{"A": "", "B": "", "C": ""}},
		{"trailing comment", "A=1 # one\nB=\"2\"\t# two", map[string]string{"A": "1", "B": "2"}},
		{"hash inside value", "A=a#b", map[string]string{"A": "a#b"}},
		{"CRLF", "A=1\r\nB=\"2\"\r\n", map[string]string{"A": "1", "B": "2"}},
		{"last wins", "A=1\nA=2", map[string]string{"A": "2"}},
		{"equals in value", "A=b=c", map[string]string{"A": "b=c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("f", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A=1\nnot an assignment\n", "f:2: expected KEY=value"},
		{"export FOO\n", "f:1: expected KEY=value"},
		{"\n\n1A=x", `f:3: invalid variable name "1A"`},
		{"a-b=x", `f:1: invalid variable name "a-b"`},
		{"=x", `f:1: invalid variable name ""`},
		{"A=1\nB=\"open\n\nstill open", "f:2: unterminated double quote"},
		{"A='open", "f:1: unterminated single quote"},
		{`A="end\`, "f:1: unterminated double quote"},
		{`A=end\`, "f:1: backslash at the end of the file"},
		{"A=$HOME", `f:1: '$' expansion is not supported: quote it as \$ or use '...'`},
		{"A=\"x\ny $HOME\"", "f:2: '$' expansion is not supported: escape it as \\$"},
		{"A=`id`", "f:1: '`' expansion is not supported: quote it as \\` or use '...'"},
		{"A=a b", `f:1: unexpected 'b' after the value of A (quote the whole value)`},
		{"A=a;b", `f:1: unexpected ';' (quote the value)`},
		{"A=a\x00", "f:1: NUL byte"},
		{"A=\"a\x00\"", "f:1: NUL byte"},
		{"A=\\\x00", "f:1: NUL byte"},
	}
	for _, tt := range tests {
		_, err := Parse("f", []byte(tt.in))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("missing file: error = %v, want not-exist", err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("A=1\nB C\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(bad); err == nil || err.Error() != bad+":2: expected KEY=value" {
		t.Errorf("error = %v, want %s:2: expected KEY=value", err, bad)
	}
	// The file is re-read after every startup script: a FIFO there must
	// not block PID 1 waiting for a writer.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadFile(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || err.Error() != "read "+fifo+": not a regular file (a FIFO)" {
			t.Errorf("FIFO: error = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ReadFile blocked on a FIFO")
	}
}
