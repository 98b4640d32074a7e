package privdrop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// helperEnv switches the test binary into su-exec, so the integration tests
// run the real SuExec (privilege drop + exec) in a process of its own.
const helperEnv = "PRIVDROP_TEST_SUEXEC"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(SuExec(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

func TestSuExecUsage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{args: nil, wantCode: 1, wantErr: usage + "\n"},
		{args: []string{"nobody"}, wantCode: 1, wantErr: usage + "\n"},
		{args: []string{"--help"}, wantCode: 0, wantErr: usage + "\n"},
		{args: []string{"no-such-user-xyz", "true"}, wantCode: 1, wantErr: "su-exec: unknown user no-such-user-xyz\n"},
		{args: []string{"0:no-such-group-xyz", "true"}, wantCode: 1, wantErr: "su-exec: unknown group no-such-group-xyz\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			if code := SuExec(tt.args, &stderr); code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if stderr.String() != tt.wantErr {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantErr)
			}
		})
	}
}

func TestCheckSetuid(t *testing.T) {
	tests := []struct {
		name                 string
		mode                 os.FileMode
		uid, euid, gid, egid int
		want                 string
	}{
		{name: "plain", mode: 0o755},
		{name: "setuid bit", mode: 0o755 | os.ModeSetuid, want: "/bin/su-exec has the setuid bit"},
		{name: "setgid bit", mode: 0o755 | os.ModeSetgid, want: "/bin/su-exec has the setgid bit"},
		{name: "euid differs", mode: 0o755, uid: 1000, want: "real and effective ids differ (uid 1000/0, gid 0/0)"},
		{name: "egid differs", mode: 0o755, egid: 5, want: "real and effective ids differ (uid 0/0, gid 0/5)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkSetuid("/bin/su-exec", tt.mode, tt.uid, tt.euid, tt.gid, tt.egid)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected refusal: %v", err)
				}
				return
			}
			if !errors.Is(err, errSetuid) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want prefix %q wrapping errSetuid", err, tt.want)
			}
		})
	}
}

// idScript prints what the integration tests compare: uid, gid, the group
// list and HOME.
const idScript = `printf '%s %s %s HOME=%s\n' "$(id -u)" "$(id -g)" "$(id -G)" "$HOME"`

// wantID is the idScript line a credential must produce: id -G prints the
// gid first, then the other groups in the kernel's (sorted) order.
func wantID(c *Credential) string {
	others := []string{fmt.Sprint(c.Gid)}
	groups := slices.Clone(c.Groups)
	slices.Sort(groups)
	for _, g := range slices.Compact(groups) {
		if g != c.Gid {
			others = append(others, fmt.Sprint(g))
		}
	}
	return fmt.Sprintf("%d %d %s HOME=%s\n", c.Uid, c.Gid, strings.Join(others, " "), c.Home)
}

// runID runs prefix + [tool spec sh -c idScript] with a wrong HOME (which
// must be replaced) and returns its output.
func runID(t *testing.T, prefix []string, tool []string, spec string) string {
	t.Helper()
	argv := append(slices.Clone(prefix), tool...)
	argv = append(argv, spec, "sh", "-c", idScript)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HOME=/wrong")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return string(out)
}

func selfExe(t *testing.T) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe}
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: SuExec must be able to setuid to another user")
	}
}

// compare runs SuExec (and gosu when installed) for each spec and checks
// the resulting ids and HOME against what db says.
func compare(t *testing.T, db DB, prefix []string, specs []string) {
	gosu, _ := exec.LookPath("gosu")
	for _, spec := range specs {
		t.Run(spec, func(t *testing.T) {
			c, err := db.Parse(spec)
			if err != nil {
				t.Fatal(err)
			}
			got := runID(t, prefix, selfExe(t), spec)
			if want := wantID(c); got != want {
				t.Errorf("su-exec %s: got %q, want %q", spec, got, want)
			}
			if gosu == "" {
				return
			}
			if g := runID(t, prefix, []string{gosu}, spec); g != got {
				t.Errorf("su-exec %s: got %q, gosu gives %q", spec, got, g)
			}
		})
	}
}

// TestSuExecSystemUsers drops to accounts of this machine's real
// /etc/passwd, as root.
func TestSuExecSystemUsers(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("gosu"); err != nil {
		t.Log("gosu not installed: checking against the credentials alone")
	}
	compare(t, DB{}, nil, []string{"nobody", "nobody:root", "65534", "65534:65534", "4242", "4242:4243", "root", ":nogroup", "0:65534"})
}

// TestSuExecFixtureUsers bind-mounts well-formed fixture files over
// /etc/passwd and /etc/group in a private mount namespace, so supplementary
// groups are exercised on any machine. (The other fixture has malformed
// lines, where gosu differs on purpose: its parser reads the gid "abc" as 0,
// we skip the line as glibc does.)
func TestSuExecFixtureUsers(t *testing.T) {
	requireRoot(t)
	if out, err := exec.Command("unshare", "--mount", "true").CombinedOutput(); err != nil {
		t.Skipf("cannot make a mount namespace (unshare --mount): %v %s", err, out)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	prefix := []string{"unshare", "--mount", "sh", "-c",
		`mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && exec "$@"`,
		"sh", wd + "/testdata/passwd.clean", wd + "/testdata/group.clean"}
	clean := DB{Passwd: "testdata/passwd.clean", Group: "testdata/group.clean"}
	compare(t, clean, prefix, []string{"alice", "bob", "1000", "carol", "alice:staff", "alice:4242", "bob:nogroup", "1234", "5555:77", "nobody"})
}

func TestSuExecCommandNotFound(t *testing.T) {
	requireRoot(t)
	cmd := exec.Command(selfExe(t)[0], "nobody", "no-such-command-xyz")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("err = %v, want exit 1", err)
	}
	if !strings.HasPrefix(string(out), "su-exec: ") || !strings.Contains(string(out), "no-such-command-xyz") {
		t.Errorf("output %q, want one su-exec line naming the command", out)
	}
}
