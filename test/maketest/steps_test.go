package maketest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailingStepDoesNotSkipTheRest: `make test` runs every step even
// after one fails (a fuzz failure must not hide the container tests), then
// fails naming the steps that failed.
func TestFailingStepDoesNotSkipTheRest(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("needs make")
	}
	dir := t.TempDir()
	mk := "first:\n\t@echo ran first; false\nsecond:\n\t@echo ran second\nthird:\n\t@echo ran third; exit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(mk), 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../scripts/test-steps")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "first", "second", "third")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); !ok {
		t.Fatalf("test-steps with failing steps: err %v, want a non-zero exit:\n%s", err, out)
	}
	for _, want := range []string{"ran first", "ran second", "ran third", "failed: first third"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestAllStepsPass: the run passes only when every step did, and says so.
func TestAllStepsPass(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("needs make")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte("a:\n\t@true\nb:\n\t@true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../scripts/test-steps")
	cmd := exec.Command(script, "a", "b")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "passed: a b") {
		t.Fatalf("test-steps a b: %v:\n%s", err, out)
	}
}
