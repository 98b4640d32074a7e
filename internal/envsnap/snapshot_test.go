package envsnap

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestCapture(t *testing.T) {
	s := Capture([]string{
		"PATH=/bin", "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh",
		"PWD=/", "SHLVL=1", "HOSTNAME=box", "_=/bin/env", "EMPTY=", "EQ=a=b",
		"PATH=/second", "noequals", "=novalue", "a.b=dotted",
	})
	want := []string{"EMPTY=", "EQ=a=b", "PATH=/bin", "a.b=dotted"}
	if got := s.Environ(); !reflect.DeepEqual(got, want) {
		t.Errorf("Environ() = %q, want %q", got, want)
	}
}

func TestGetSetMerge(t *testing.T) {
	s := Capture([]string{"A=1", "B=2"})
	s.Set("A", "one")
	s.Merge(map[string]string{"B": "two", "C": "three"})
	for k, want := range map[string]string{"A": "one", "B": "two", "C": "three"} {
		if got, ok := s.Get(k); !ok || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", k, got, ok, want)
		}
	}
	if _, ok := s.Get("D"); ok {
		t.Error("Get(D) found an unset variable")
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExpandSecrets(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		wantVar string // value NAME gets; "" = not set
		wantErr string // substring; "" = no error
	}{
		{name: "trailing newlines trimmed", env: []string{"DB_PASS_FILE=" + writeFile(t, dir, "pw", "s3cret\n\n")}, wantVar: "s3cret"},
		{name: "inner newlines kept", env: []string{"DB_PASS_FILE=" + writeFile(t, dir, "ml", "a\nb\n")}, wantVar: "a\nb"},
		{name: "empty file", env: []string{"DB_PASS_FILE=" + writeFile(t, dir, "empty", "")}, wantVar: ""},
		{name: "missing", env: []string{"DB_PASS_FILE=" + dir + "/nope"}, wantErr: "expand DB_PASS_FILE: " + dir + "/nope: no such file or directory"},
		{name: "directory", env: []string{"DB_PASS_FILE=" + sub}, wantErr: "expand DB_PASS_FILE: " + sub + ": not a regular file (d---------)"},
		{name: "fifo never read", env: []string{"DB_PASS_FILE=" + fifo}, wantErr: "expand DB_PASS_FILE: " + fifo + ": not a regular file"},
		{name: "too big", env: []string{"DB_PASS_FILE=" + writeFile(t, dir, "big", strings.Repeat("x", MaxSecretSize+1))}, wantErr: "larger than 65536 bytes"},
		{name: "exactly MaxSecretSize", env: []string{"DB_PASS_FILE=" + writeFile(t, dir, "max", strings.Repeat("x", MaxSecretSize))}, wantVar: strings.Repeat("x", MaxSecretSize)},
		{name: "NUL byte", env: []string{"DB_PASS_FILE=" + writeFile(t, dir, "nul", "a\x00b")}, wantErr: "contains a NUL byte"},
		{name: "both set", env: []string{"DB_PASS=x", "DB_PASS_FILE=" + dir + "/pw"}, wantVar: "x", wantErr: "expand DB_PASS_FILE: DB_PASS is already set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Capture(tt.env)
			err := s.ExpandSecrets(Secrets{Dirs: []string{dir}})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("ExpandSecrets() error = %v, want %q", err, tt.wantErr)
			}
			got, _ := s.Get("DB_PASS")
			if got != tt.wantVar {
				t.Errorf("DB_PASS = %.40q, want %.40q", got, tt.wantVar)
			}
			if _, ok := s.Get("DB_PASS_FILE"); !ok {
				t.Error("DB_PASS_FILE was dropped")
			}
		})
	}
}

// SVINIT_* paths are never expanded, other failures do not stop the rest,
// and a second call changes nothing.
func TestExpandSecretsSkipsAndContinues(t *testing.T) {
	dir := t.TempDir()
	s := Capture([]string{
		"SVINIT_ENV_FILE=/nonexistent/environment",
		"A_FILE=" + dir + "/missing",
		"B_FILE=" + writeFile(t, dir, "b", "bee\n"),
		"_FILE=" + dir + "/b",
	})
	err := s.ExpandSecrets(Secrets{Dirs: []string{dir}})
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "A_FILE") {
		t.Fatalf("error = %v, want one line about A_FILE", err)
	}
	if _, ok := s.Get("SVINIT_ENV"); ok {
		t.Error("SVINIT_ENV_FILE was expanded")
	}
	if v, _ := s.Get("B"); v != "bee" || !s.IsSecret("B") {
		t.Errorf("B = %q (secret %v), want bee, secret", v, s.IsSecret("B"))
	}
	rule := Secrets{Dirs: []string{dir}}
	if err := (Capture([]string{"B_FILE=" + dir + "/b"})).ExpandSecrets(rule); err != nil {
		t.Fatal(err)
	}
	again := Capture([]string{"B_FILE=" + dir + "/b"})
	_ = again.ExpandSecrets(rule)
	if err := again.ExpandSecrets(rule); err != nil {
		t.Errorf("second ExpandSecrets() = %v, want nil", err)
	}
}

// Only files under a secrets folder (or names listed in SVINIT_SECRETS)
// are secrets; every other *_FILE is an ordinary variable, left alone
// without a word (SPEC §7).
func TestExpandSecretsOnlyUnderSecretsDirs(t *testing.T) {
	root := t.TempDir()
	secrets := filepath.Join(root, "run", "secrets")
	if err := os.MkdirAll(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	shadow := writeFile(t, etc, "shadow", "root:hash")
	bundle := writeFile(t, etc, "ca.crt", "-----BEGIN CERTIFICATE-----")
	writeFile(t, secrets, "db", "pw\n")
	if err := os.Symlink(shadow, filepath.Join(secrets, "escape")); err != nil {
		t.Fatal(err)
	}
	// A Kubernetes secret volume: keys are links into a ..data folder.
	if err := os.MkdirAll(filepath.Join(secrets, "..2026_v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(secrets, "..2026_v1"), "token", "tok")
	if err := os.Symlink("..2026_v1", filepath.Join(secrets, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/token", filepath.Join(secrets, "token")); err != nil {
		t.Fatal(err)
	}
	// The secrets folder reached through a link (/var/run -> /run).
	if err := os.Symlink(filepath.Join(root, "run"), filepath.Join(root, "varrun")); err != nil {
		t.Fatal(err)
	}
	s := Capture([]string{
		"DB_FILE=" + secrets + "/db",
		"TOKEN_FILE=" + secrets + "/token",
		"VIA_FILE=" + root + "/varrun/secrets/db",
		"SSL_CERT_FILE=" + bundle,
		"LOG_FILE=/var/log/app.log",
		"DOTDOT_FILE=" + secrets + "/../../etc/shadow",
		"ESCAPE_FILE=" + secrets + "/escape",
		"RELATIVE_FILE=db",
		"CA_FILE=" + bundle, // listed in SVINIT_SECRETS: expanded wherever it is
		"GONE_FILE=" + secrets + "/gone",
	})
	err := s.ExpandSecrets(Secrets{Dirs: []string{secrets, filepath.Join(root, "nonexistent")}, Names: []string{"CA"}})
	if err == nil || strings.Count(err.Error(), "\n") != 0 || !strings.Contains(err.Error(), "expand GONE_FILE: "+secrets+"/gone: no such file") {
		t.Errorf("error = %v, want only the missing secret under the secrets folder", err)
	}
	for k, want := range map[string]string{"DB": "pw", "TOKEN": "tok", "VIA": "pw", "CA": "-----BEGIN CERTIFICATE-----"} {
		if got, ok := s.Get(k); !ok || got != want || !s.IsSecret(k) {
			t.Errorf("%s = %q (set %v, secret %v), want %q", k, got, ok, s.IsSecret(k), want)
		}
	}
	for _, k := range []string{"SSL_CERT", "LOG", "DOTDOT", "ESCAPE", "RELATIVE", "GONE"} {
		if v, ok := s.Get(k); ok {
			t.Errorf("%s = %q: expanded, want it left alone", k, v)
		}
	}
}

// A secrets folder that does not exist expands nothing and says nothing.
func TestExpandSecretsNoSecretsDir(t *testing.T) {
	dir := t.TempDir()
	s := Capture([]string{"A_FILE=" + writeFile(t, dir, "a", "x"), "B_FILE=" + dir + "/missing/b"})
	if err := s.ExpandSecrets(Secrets{Dirs: []string{dir + "/missing"}}); err != nil {
		t.Errorf("error = %v, want none", err)
	}
	if _, ok := s.Get("A"); ok {
		t.Error("A expanded without a secrets folder")
	}
}

func TestParseSecretNames(t *testing.T) {
	got, err := ParseSecretNames(" DB_PASS, API_KEY  TOKEN,,")
	if err != nil || !reflect.DeepEqual(got, []string{"DB_PASS", "API_KEY", "TOKEN"}) {
		t.Errorf("ParseSecretNames = %q, %v", got, err)
	}
	if _, err := ParseSecretNames("OK bad-name"); err == nil || !strings.Contains(err.Error(), `"bad-name"`) {
		t.Errorf("bad name: error %v, want it named", err)
	}
}
