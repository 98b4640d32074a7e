package manifest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// FuzzValidName holds the hand-written check to the pattern SPEC §4 gives.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"web", "a", "0", "my-app.v2_x", "", "-web", ".hidden", "_x", "Web", "web/x", "a b",
		strings.Repeat("a", 64), strings.Repeat("a", 65), "ü", "web\n", "x\x00"} {
		f.Add(s)
	}
	rx := regexp.MustCompile(NamePattern)
	f.Fuzz(func(t *testing.T, name string) {
		// $ in Go's regexp matches only at the very end (no multi-line), as wanted.
		if got, want := ValidName(name), rx.MatchString(name); got != want {
			t.Errorf("ValidName(%q) = %v, NamePattern says %v", name, got, want)
		}
	})
}

// TestNameRuleInOnePlace: the service-name rule is written once, here;
// every other package calls ValidName (it was once a second regexp in the
// control protocol).
func TestNameRuleInOnePlace(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		if filepath.Dir(path) == "." || filepath.ToSlash(filepath.Dir(path)) == "../../internal/manifest" {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), "{0,63}") {
			t.Errorf("%s spells out the service-name rule; call manifest.ValidName", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
