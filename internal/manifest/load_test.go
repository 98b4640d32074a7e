package manifest

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	root := t.TempDir()
	writeService(t, root, "web", "enabled: true\nauto_start: true\ndepends_on: [db]\ncommand: [app, '${NOPE}']\n", programs{})
	writeService(t, root, "db", "enabled: true\n", runOnly)
	writeService(t, root, "off", "enabled: false\n", programs{})
	writeService(t, root, "old", "# enabled: false is the default\n", programs{})
	writeService(t, root, ".hidden", "garbage: [", programs{})
	if err := os.MkdirAll(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeService(t, root, "yaml", "", programs{})
	if err := os.Rename(filepath.Join(root, "yaml", "manifest.yml"), filepath.Join(root, "yaml", "manifest.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "README"), []byte("not a service"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "db"), filepath.Join(root, "db2")); err != nil {
		t.Fatal(err)
	}

	set, err := Load(root, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := slices.Sorted(maps.Keys(set.Services)); !reflect.DeepEqual(got, []string{"db", "db2", "web"}) {
		t.Errorf("Services = %q", got)
	}
	if !reflect.DeepEqual(set.Disabled, []string{"off", "old"}) {
		t.Errorf("Disabled = %q", set.Disabled)
	}
	wantWarnings := []string{"empty: no manifest.yml, skipped", "web/manifest.yml:4: command[1]: ${NOPE} is not set", "found manifest.yaml: rename it"}
	all := strings.Join(set.Warnings, "\n")
	for _, w := range wantWarnings {
		if !strings.Contains(all, w) {
			t.Errorf("warnings %q\nwant one containing %q", set.Warnings, w)
		}
	}
	if len(set.Warnings) != len(wantWarnings) {
		t.Errorf("got %d warnings, want %d: %q", len(set.Warnings), len(wantWarnings), set.Warnings)
	}
	if set.Services["db2"].Run != filepath.Join(root, "db2", "run") {
		t.Errorf("db2 Run = %q", set.Services["db2"].Run)
	}
}

// TestLoadCollectsAllErrors checks a user sees every broken folder at once.
func TestLoadCollectsAllErrors(t *testing.T) {
	root := t.TempDir()
	writeService(t, root, "a", "enabled: true\nbogus: 1\n", runOnly)
	writeService(t, root, "b", "enabled: false\nstop_signal: NOPE\n", programs{})
	writeService(t, root, "Bad", "enabled: true\n", runOnly)
	writeService(t, root, "ok", "enabled: true\n", runOnly)
	set, err := Load(root, nil)
	if err == nil {
		t.Fatal("Load succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"a/manifest.yml:2: unknown key", "b/manifest.yml:2: stop_signal: unknown signal", `Bad/manifest.yml: service name "Bad"`}
	if len(lines) != len(want) {
		t.Fatalf("got %d error lines, want %d:\n%v", len(lines), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\nwant a line containing %q", err, w)
		}
	}
	if set == nil || set.Services["ok"] == nil {
		t.Error("the Set should still come back with the valid services")
	}
}

func TestLoadMissingFolder(t *testing.T) {
	set, err := Load(filepath.Join(t.TempDir(), "nope"), nil)
	if err != nil || len(set.Services) != 0 || len(set.Warnings) != 1 {
		t.Fatalf("Load = %+v, %v", set, err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	root := t.TempDir()
	writeService(t, root, "big", "#"+strings.Repeat("x", MaxManifestSize), programs{})
	if _, err := Load(root, nil); err == nil || !strings.Contains(err.Error(), "big/manifest.yml: larger than") {
		t.Fatalf("err = %v", err)
	}
}

// TestLoadImageServices loads the services the image ships (SPEC §9).
func TestLoadImageServices(t *testing.T) {
	dir := filepath.Join("..", "..", "image", "rootfs", "etc", "services")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no image services here: %v", err)
	}
	set, err := Load(dir, envLookup(map[string]string{"SSH_PORT": "2222"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, name := range []string{"syslog", "cron", "ssh"} {
		if set.Services[name] == nil {
			t.Errorf("service %s not loaded; got %q, disabled %q", name, slices.Sorted(maps.Keys(set.Services)), set.Disabled)
		}
	}
	if ssh := set.Services["ssh"]; ssh != nil && ssh.Ready.HostPort != "127.0.0.1:2222" {
		t.Errorf("ssh ready = %+v", ssh.Ready)
	}
}

// TestHashChanges checks reload's change detection: the manifest's meaning
// and the programs count, comments do not.
func TestHashChanges(t *testing.T) {
	root := t.TempDir()
	file := writeService(t, root, "web", "enabled: true\n", runOnly)
	hash := func() string {
		t.Helper()
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(file, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash
	}
	base := hash()
	write := func(name, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(root, "web", name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, "web", name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("manifest.yml", "# a comment\nenabled:   true\n", 0o644)
	if h := hash(); h != base {
		t.Error("a comment changed the hash")
	}
	write("manifest.yml", "enabled: true\nstop_timeout: 6s\n", 0o644)
	if h := hash(); h == base {
		t.Error("stop_timeout did not change the hash")
	}
	write("manifest.yml", "enabled: true\n", 0o644)
	write("run", "#!/bin/sh\nexec app\n", 0o755)
	edited := hash()
	if edited == base {
		t.Error("editing run did not change the hash")
	}
	write("run", "#!/bin/sh\nexec app\n", 0o750)
	if h := hash(); h == edited {
		t.Error("run's mode did not change the hash")
	}
}
