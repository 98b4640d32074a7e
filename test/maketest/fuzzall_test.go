// Package maketest tests the scripts behind `make test`: scripts/fuzz-all,
// the fuzz step, must be deterministic (a fixed number of executions per
// target), fail the run on a real fuzz failure, and never pass by finding
// nothing to run; scripts/test-steps runs every step and fails if one did.
package maketest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module writes a throwaway git repository holding one Go module whose
// fuzz target has body, and returns its root.
func module(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":            "module fuzzme\n\ngo 1.22\n",
		"pkg/pkg.go":        "package pkg\n",
		"pkg/fuzz_test.go":  "package pkg\n\nimport \"testing\"\n\n" + body,
		"pkg/plain_test.go": "package pkg\n\nimport \"testing\"\n\nfunc TestPlain(t *testing.T) {}\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	return dir
}

// fuzzAll runs scripts/fuzz-all over root with args.
func fuzzAll(t *testing.T, root string, args ...string) (string, int) {
	t.Helper()
	script, err := filepath.Abs("../../scripts/fuzz-all")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, args...)
	cmd.Env = append(os.Environ(), "FUZZ_ROOT="+root)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func needGo(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go tool")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
}

// TestFuzzFailureFailsTheRun: a bug the mutator finds within the fixed
// number of executions (any non-empty input) fails fuzz-all.
func TestFuzzFailureFailsTheRun(t *testing.T) {
	needGo(t)
	root := module(t, `func FuzzBug(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 0 {
			t.Fatal("found the bug")
		}
	})
}
`)
	out, code := fuzzAll(t, root, "200x")
	if code == 0 || !strings.Contains(out, "found the bug") {
		t.Fatalf("fuzz-all 200x over a buggy target: exit %d, want non-zero with the failure shown:\n%s", code, out)
	}
}

// TestFuzzPassesDeterministically: a correct target passes with a fixed
// execution count, and the run says what it ran.
func TestFuzzPassesDeterministically(t *testing.T) {
	needGo(t)
	root := module(t, `func FuzzFine(f *testing.F) {
	f.Add([]byte("a"))
	f.Fuzz(func(t *testing.T, b []byte) {})
}
`)
	out, code := fuzzAll(t, root, "100x")
	if code != 0 || !strings.Contains(out, "FuzzFine (100x)") {
		t.Fatalf("fuzz-all 100x: exit %d, want 0 naming FuzzFine (100x):\n%s", code, out)
	}
}

// TestNoTargetsFails: a run that finds no fuzz target fails rather than
// passing having fuzzed nothing.
func TestNoTargetsFails(t *testing.T) {
	needGo(t)
	root := module(t, "func TestNothing(t *testing.T) {}\n")
	out, code := fuzzAll(t, root, "10x")
	if code == 0 || !strings.Contains(out, "no fuzz targets") {
		t.Fatalf("fuzz-all with no targets: exit %d, want non-zero saying so:\n%s", code, out)
	}
}

// TestRejectsTimeBasedFuzzingByDefault: make test's step takes only an
// execution count; a duration (which flakes under load) needs --long.
func TestRejectsTimeBasedFuzzingByDefault(t *testing.T) {
	needGo(t)
	root := module(t, "func FuzzFine(f *testing.F) { f.Fuzz(func(t *testing.T, b []byte) {}) }\n")
	out, code := fuzzAll(t, root, "2s")
	if code != 2 || !strings.Contains(out, "--long") {
		t.Fatalf("fuzz-all 2s: exit %d, want 2 pointing at --long:\n%s", code, out)
	}
}
