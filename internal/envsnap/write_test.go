package envsnap

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// roHelperEnv switches the test binary into a helper that writes into a
// read-only mount (see TestWriteFilesReadOnlyMount).
const roHelperEnv = "ENVSNAP_TEST_RO_DIR"

// roLinkHelperEnv: a helper that writes through links on a read-only
// mount (see TestWriteFilesThroughLinkOnReadOnlyRoot).
const roLinkHelperEnv = "ENVSNAP_TEST_RO_LINK_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(roHelperEnv); dir != "" {
		os.Exit(readOnlyHelper(dir))
	}
	if dir := os.Getenv(roLinkHelperEnv); dir != "" {
		os.Exit(readOnlyLinkHelper(dir))
	}
	os.Exit(m.Run())
}

// readOnlyLinkHelper exits 0 when both files, links on a read-only mount,
// are written where they point.
func readOnlyLinkHelper(dir string) int {
	s := Capture([]string{"A=1"})
	if err := s.WriteFiles(dir+"/environment", dir+"/profile.d/env.sh", 0o400); err != nil {
		os.Stderr.WriteString("WriteFiles through links: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// readOnlyHelper exits 0 when both an existing and a missing folder on a
// read-only mount give ErrReadOnly.
func readOnlyHelper(dir string) int {
	s := Capture([]string{"A=1"})
	for _, args := range [][2]string{{dir + "/environment", ""}, {"", dir + "/profile.d/env.sh"}} {
		err := s.WriteFiles(args[0], args[1], 0o400)
		if !errors.Is(err, ErrReadOnly) {
			os.Stderr.WriteString("want ErrReadOnly, got: " + errString(err) + "\n")
			return 1
		}
	}
	return 0
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func TestWriteFilesModes(t *testing.T) {
	for _, mode := range []os.FileMode{0o400, 0o444, 0o640} {
		dir := t.TempDir()
		env, profile := filepath.Join(dir, "environment"), filepath.Join(dir, "profile.d", "env.sh")
		s := Capture([]string{"A=1"})
		// Twice: the second write replaces the first file.
		for i := 0; i < 2; i++ {
			if err := s.WriteFiles(env, profile, mode); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{env, profile} {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != mode {
				t.Errorf("%s: mode %v, want %v", f, fi.Mode(), mode)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if os.Geteuid() == 0 && (st.Uid != 0 || st.Gid != 0) {
				t.Errorf("%s: owned by %d:%d, want 0:0", f, st.Uid, st.Gid)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Errorf("%s holds %d entries, want environment and profile.d (no temp files)", dir, len(entries))
		}
	}
}

func TestWriteFilesContent(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "pw", "hunter2\n")
	s := Capture([]string{"B=two words", "A=1", "PW_FILE=" + secret, "x.y=z"})
	if err := s.ExpandSecrets(Secrets{Dirs: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	env, profile := filepath.Join(dir, "environment"), filepath.Join(dir, "env.sh")
	if err := s.WriteFiles(env, profile, 0o400); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		env:     "A=\"1\"\nB=\"two words\"\nPW_FILE=\"" + secret + "\"\n",
		profile: "export A=\"1\"\nexport B=\"two words\"\nexport PW_FILE=\"" + secret + "\"\n",
	}
	for f, w := range want {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != w {
			t.Errorf("%s = %q, want %q", f, b, w)
		}
	}
	// ...while children still get the secret.
	if !strings.Contains(strings.Join(s.Environ(), "\n"), "PW=hunter2") {
		t.Errorf("Environ() = %q, want PW=hunter2 in it", s.Environ())
	}
}

func TestWriteErrorMapping(t *testing.T) {
	ro := writeError("/etc/environment", &fs.PathError{Op: "open", Path: "/etc/.environment.tmp1", Err: syscall.EROFS})
	if !errors.Is(ro, ErrReadOnly) || !errors.Is(ro, syscall.EROFS) || !strings.HasPrefix(ro.Error(), "write /etc/environment: read-only filesystem: ") {
		t.Errorf("EROFS: %v, want ErrReadOnly wrapping EROFS", ro)
	}
	other := writeError("/etc/environment", &fs.PathError{Op: "open", Path: "/etc/x", Err: syscall.EACCES})
	if errors.Is(other, ErrReadOnly) || !errors.Is(other, syscall.EACCES) {
		t.Errorf("EACCES: %v, want no ErrReadOnly", other)
	}
}

func TestWriteFilesError(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "file", "")
	err := Capture(nil).WriteFiles(filepath.Join(file, "environment"), "", 0o400)
	if err == nil || !strings.HasPrefix(err.Error(), "write "+file+"/environment: ") || errors.Is(err, ErrReadOnly) {
		t.Errorf("error = %v, want one naming %s/environment", err, file)
	}
}

// TestWriteFilesReadOnlyMount writes into a tmpfs mounted read-only in a
// private mount namespace (root only), through the helper in TestMain.
func TestWriteFilesReadOnlyMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only tmpfs")
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot make a mount namespace (unshare --mount): %v %s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("unshare", "--mount", "sh", "-c", `mount -t tmpfs -o ro tmpfs "$1" && exec "$2"`, "sh", dir, exe)
	cmd.Env = append(os.Environ(), roHelperEnv+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    os.FileMode
		wantErr bool
	}{
		{"0400", 0o400, false}, {"0444", 0o444, false}, {"644", 0o644, false}, {"0", 0, false},
		{"0777", 0, true}, {"0666", 0, true}, {"0620", 0, true}, {"0602", 0, true}, {"0640", 0o640, false}, {"4755", 0, true}, {"0800", 0, true}, {"", 0, true},
		{"rw-r--r--", 0, true}, {"-1", 0, true}, {"0o400", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "invalid mode") {
			t.Errorf("ParseMode(%q) error %q does not say what is wrong", tt.in, err)
		}
	}
}

// TestWriteFilesThroughLinkOnReadOnlyRoot: on a read-only root the image
// links the env files into /run (a tmpfs); svinit writes where the link
// points, and leaves the link (it could not replace it anyway).
func TestWriteFilesThroughLinkOnReadOnlyRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a read-only tmpfs")
	}
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot make a mount namespace (unshare --mount): %v %s", err, out)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ro, run := t.TempDir(), t.TempDir()
	script := `mount -t tmpfs tmpfs "$1" && mkdir "$1/profile.d" &&
ln -s "$2/etc/environment" "$1/environment" && ln -s ../../run-rel/env.sh "$1/profile.d/env.sh" &&
mount -o remount,ro "$1" && exec "$3"`
	// The profile link is relative: ../../run-rel from ro/profile.d.
	rel := filepath.Join(filepath.Dir(ro), "run-rel")
	if err := os.Symlink(run, rel); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(rel)
	cmd := exec.Command("unshare", "--mount", "sh", "-c", script, "sh", ro, run, exe)
	cmd.Env = append(os.Environ(), roLinkHelperEnv+"="+ro)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, f := range []string{run + "/etc/environment", run + "/env.sh"} {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), `A="1"`) {
			t.Errorf("%s: %v %q, want the snapshot", f, err, b)
		}
		if m := fileMode(t, f); m != 0o400 {
			t.Errorf("%s: mode %v, want 0400", f, m)
		}
	}
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
