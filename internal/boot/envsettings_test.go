package boot

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"alpine-server/internal/privdrop"
)

func getenvFrom(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// The services-folder rule of SPEC §4, on a temporary root.
func TestServicesDirRule(t *testing.T) {
	tests := []struct {
		name    string
		layout  func(t *testing.T, etc string)
		env     map[string]string
		want    string // relative to the root unless SVINIT_SERVICES_DIR is set
		portLst bool
	}{
		{name: "seed layout: /etc/services is a folder", layout: mkdir("services"), want: "/etc/services"},
		{name: "a link to a folder counts as a folder", layout: func(t *testing.T, etc string) {
			mkdir("svc")(t, etc)
			if err := os.Symlink("svc", filepath.Join(etc, "services")); err != nil {
				t.Fatal(err)
			}
		}, want: "/etc/services"},
		{name: "port list: netbase's file", layout: portList, want: "/etc/svinit/services", portLst: true},
		{name: "nothing there", layout: func(*testing.T, string) {}, want: "/etc/svinit/services"},
		{name: "explicit setting wins", layout: mkdir("services"), env: map[string]string{"SVINIT_SERVICES_DIR": "/srv/svc"}, want: "/srv/svc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			etc := filepath.Join(root, "etc")
			if err := os.MkdirAll(etc, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.layout(t, etc)
			s, err := loadSettings(getenvFrom(tt.env), root)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if tt.env["SVINIT_SERVICES_DIR"] == "" {
				want = filepath.Join(root, tt.want)
			}
			if s.ServicesDir != want || s.PortList != tt.portLst {
				t.Errorf("ServicesDir = %q (port list %v), want %q (%v)", s.ServicesDir, s.PortList, want, tt.portLst)
			}
		})
	}
}

func mkdir(name string) func(*testing.T, string) {
	return func(t *testing.T, etc string) {
		if err := os.MkdirAll(filepath.Join(etc, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func portList(t *testing.T, etc string) {
	if err := os.WriteFile(filepath.Join(etc, "services"), []byte("ssh\t\t22/tcp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// svinit check says which folder it read, and where services go when
// /etc/services is the port list.
func TestCheckSaysWhichFolder(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc")
	mkdir("svinit/services/web")(t, etc)
	portList(t, etc)
	if err := os.WriteFile(filepath.Join(etc, "svinit/services/web/manifest.yml"), []byte("enabled: true\ncommand: [sleep, '1']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	env := getenvFrom(map[string]string{"SVINIT_STARTUP_DIR": root + "/none", "SVINIT_SHUTDOWN_DIR": root + "/none"})
	if code := check(root, "", env, &out, &errOut); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	want := "ok: 1 services in " + root + "/etc/svinit/services (" + root + "/etc/services is the system's port list, a file: service folders go in " + root + "/etc/svinit/services)\n"
	if out.String() != want {
		t.Errorf("check said %q, want %q", out.String(), want)
	}

	// The seed's layout: the folder is named, no note.
	root2 := t.TempDir()
	mkdir("services")(t, filepath.Join(root2, "etc"))
	out.Reset()
	if code := check(root2, "", env, &out, &errOut); code != 0 || out.String() != "ok: 0 services in "+root2+"/etc/services\n" {
		t.Errorf("check: exit %d, said %q", code, out.String())
	}
}

// A services path that is a file or a FIFO: one clear line naming it and
// what to do, never a hang on opening the FIFO.
func TestServicesDirNotAFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "services")
	if err := os.WriteFile(file, []byte("ssh 22/tcp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		file: "services folder " + file + ": not a folder (a regular file); point SVINIT_SERVICES_DIR (or svinit check --services) at the folder that holds one folder per service",
		fifo: "services folder " + fifo + ": not a folder (a FIFO); point SVINIT_SERVICES_DIR (or svinit check --services) at the folder that holds one folder per service",
	} {
		_, _, err := LoadPlan(path, func(string) (string, bool) { return "", false }, privdrop.DB{})
		if err == nil || err.Error() != want {
			t.Errorf("LoadPlan(%s) = %v, want %q", path, err, want)
		}
	}
}

func TestSecretsSettings(t *testing.T) {
	s, err := loadSettings(getenvFrom(nil), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Secrets.Dirs, []string{"/run/secrets"}) || len(s.Secrets.Names) != 0 {
		t.Errorf("default secrets rule %+v, want /run/secrets and no names", s.Secrets)
	}
	s, err = loadSettings(getenvFrom(map[string]string{"SVINIT_SECRETS_DIRS": "/run/secrets:/var/run/secrets/app::", "SVINIT_SECRETS": "DB_PASS,API_KEY"}), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Secrets.Dirs, []string{"/run/secrets", "/var/run/secrets/app"}) || !reflect.DeepEqual(s.Secrets.Names, []string{"DB_PASS", "API_KEY"}) {
		t.Errorf("secrets rule %+v", s.Secrets)
	}
	_, err = loadSettings(getenvFrom(map[string]string{"SVINIT_SECRETS": "DB-PASS"}), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `SVINIT_SECRETS="DB-PASS"`) {
		t.Errorf("bad SVINIT_SECRETS: %v", err)
	}
}

// SPEC §7: the profile script is SVINIT_PROFILE_FILE; with SVINIT_ENV_FILE
// set and SVINIT_PROFILE_FILE not, none is written.
func TestProfileFileSetting(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
		set  bool
	}{
		{env: nil, want: "/etc/profile.d/container_environment.sh"},
		{env: map[string]string{"SVINIT_ENV_FILE": "/tmp/x/env"}, want: ""},
		{env: map[string]string{"SVINIT_ENV_FILE": "/tmp/x/env", "SVINIT_PROFILE_FILE": "/tmp/x/p.sh"}, want: "/tmp/x/p.sh", set: true},
		{env: map[string]string{"SVINIT_PROFILE_FILE": "/tmp/p.sh"}, want: "/tmp/p.sh", set: true},
	} {
		s, err := loadSettings(getenvFrom(tt.env), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if s.ProfileFile != tt.want || s.ProfileFileSet != tt.set {
			t.Errorf("%v: ProfileFile %q (set %v), want %q (%v)", tt.env, s.ProfileFile, s.ProfileFileSet, tt.want, tt.set)
		}
	}
}

// unreadableHelperEnv turns the test binary into a helper that loads the
// services folder it names (TestServicesDirUnreadable runs it as nobody).
const unreadableHelperEnv = "BOOT_TEST_LOAD_SERVICES"

func TestMain(m *testing.M) {
	if dir := os.Getenv(unreadableHelperEnv); dir != "" {
		_, _, err := LoadPlan(dir, func(string) (string, bool) { return "", false }, privdrop.DB{})
		os.Stderr.WriteString(errText(err))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// An unreadable services folder: one line naming it, who svinit runs as,
// and what to do.
func TestServicesDirUnreadable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the helper as another user")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "services")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// The helper must reach the binary and the folder's parent as nobody.
	for _, d := range []string{filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(filepath.Dir(dir), "boot.test")
	if err := os.WriteFile(helper, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helper)
	cmd.Env = []string{unreadableHelperEnv + "=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("cannot run the test binary as nobody (%v): %s", err, out)
	}
	want := "services folder " + dir + ": cannot read it as uid 65534: permission denied; make it readable (chmod a+rx) or point SVINIT_SERVICES_DIR (or svinit check --services) at another folder"
	if string(out) != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}
