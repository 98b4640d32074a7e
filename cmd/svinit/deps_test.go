package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestForbiddenImports keeps two promises of the design checkable:
// nothing in svinit can wait for a child behind the reaper's back (no
// os/exec), and the binary stays small (no net/http: about 4 MB of
// container memory, SPEC §12; no encoding/json: 0.2 MB, the control
// protocol and JSON logs use internal/jsoncodec; no yaml.v3 and the regexp
// package it brings: 0.5 MB, manifests use internal/manifest/yaml; no
// robfig/cron and the log and io/ioutil it brings: 49 KB, cron uses its own
// Schedule).
func TestForbiddenImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch pkg {
		case "os/exec", "net/http", "crypto/tls", "encoding/json", "go.yaml.in/yaml/v3", "regexp",
			"github.com/robfig/cron/v3":
			t.Errorf("svinit links %s", pkg)
		}
	}
}

// TestOnlyTheReaperWaits: wait4/waitid appear only in internal/reaper.
func TestOnlyTheReaperWaits(t *testing.T) {
	root := filepath.Join("..", "..", "internal")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if strings.Contains(filepath.ToSlash(path), "internal/reaper/") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, call := range []string{"Wait4(", "Waitid(", "ForkExec(", "StartProcess(", "FindProcess("} {
			if strings.Contains(string(src), call) {
				t.Errorf("%s calls %s: only internal/reaper forks and waits", path, call)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
