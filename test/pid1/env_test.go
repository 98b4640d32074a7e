package pid1

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// nasty is a value sh must read back byte for byte from the env file.
const nasty = "it's \"quoted\" $HOME `id` \\ back\\slash $(echo no)\nsecond line 'x' !"

// readBack sources file in a clean sh and prints NAME.
func readBack(t *testing.T, file, name string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", `. "$1" && eval "printf %s \"\${$2}\""`, "sh", file, name)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh . %s: %v: %s", file, err, out)
	}
	return string(out)
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestEnvironmentFileAndSecrets(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	writeFile(t, secret, "s3cr3t value\n", false)
	b := boot(t, spec{
		env: []string{
			"NASTY=" + nasty, "SIMPLE=plain value", "SECRET_FILE=" + secret, "SVINIT_SECRETS_DIRS=" + filepath.Dir(secret),
			"SVINIT_PROFILE_FILE=/etc/profile.d/container_environment.sh", // the box's bind mount: b.dir/profile.d
			"HOME=/root", "HOSTNAME=boxhost", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "SHLVL=3",
		},
		services: map[string]map[string]string{
			"reader": {"manifest.yml": manifest(),
				"run": "#!/bin/sh\nprintf %s \"$SECRET\" > \"$T/svc.tmp\" && mv \"$T/svc.tmp\" \"$T/svc-secret\"\nexec sleep 100\n"},
		},
		main: []string{"sh", "-c", `test "$SECRET" = "s3cr3t value" || exit 3
for i in $(seq 500); do [ -e "$T/svc-secret" ] && exit 0; sleep 0.02; done; exit 4`},
	})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("main command: exit %d (3: no SECRET from SECRET_FILE, 4: service did not run)", got)
	}
	if got, _ := os.ReadFile(filepath.Join(b.dir, "svc-secret")); string(got) != "s3cr3t value" {
		t.Errorf("service saw SECRET=%q, want the file's content without its newline", got)
	}

	envFile := filepath.Join(b.dir, "environment")
	profile := filepath.Join(b.dir, "profile.d", "container_environment.sh")
	data, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	if m := fileMode(t, envFile); m != 0o400 {
		t.Errorf("%s mode %v, want 0400", envFile, m)
	}
	if !regexp.MustCompile(`(?m)^SIMPLE="plain value"$`).Match(data) {
		t.Errorf("no KEY=\"value\" line for SIMPLE in:\n%s", data)
	}
	if m := regexp.MustCompile(`(?m)^(export )?(HOME|HOSTNAME|USER|LOGNAME|SHELL|PWD|SHLVL|_)=.*`).Find(data); m != nil {
		t.Errorf("env file has %q; SPEC §7 leaves it out", m)
	}
	if got := readBack(t, envFile, "NASTY"); got != nasty {
		t.Errorf("sh reads NASTY back as\n%q\nwant\n%q", got, nasty)
	}
	if got := readBack(t, envFile, "SIMPLE"); got != "plain value" {
		t.Errorf("sh reads SIMPLE back as %q", got)
	}

	pdata, err := os.ReadFile(profile)
	if err != nil {
		t.Fatalf("profile file: %v", err)
	}
	if !regexp.MustCompile(`(?m)^export SIMPLE="plain value"$`).Match(pdata) {
		t.Errorf("no export line for SIMPLE in the profile:\n%s", pdata)
	}
	if m := fileMode(t, profile); m != 0o400 {
		t.Errorf("%s mode %v, want 0400", profile, m)
	}
	if got := readBack(t, profile, "NASTY"); got != nasty {
		t.Errorf("sh reads NASTY back from the profile as %q", got)
	}
}

func TestEnvironmentModeOptIn(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{env: []string{"SVINIT_ENV_MODE=0444", "SVINIT_PROFILE_FILE=/etc/profile.d/container_environment.sh"}, main: []string{"true"}})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Fatalf("exit %d", got)
	}
	for _, f := range []string{"environment", "profile.d/container_environment.sh"} {
		if m := fileMode(t, filepath.Join(b.dir, f)); m != 0o444 {
			t.Errorf("%s mode %v with SVINIT_ENV_MODE=0444", f, m)
		}
	}
}

// SPEC §7: with SVINIT_ENV_FILE set and SVINIT_PROFILE_FILE not, svinit as
// PID 1 writes no profile script: not the machine's /etc/profile.d (here
// bind-mounted to the box's folder, which must stay empty), not anywhere.
func TestNoProfileFileWithEnvFile(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{env: []string{"VISIBLE=yes"}, main: []string{"true"}})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Fatalf("exit %d", got)
	}
	if data, err := os.ReadFile(filepath.Join(b.dir, "environment")); err != nil || !strings.Contains(string(data), `VISIBLE="yes"`) {
		t.Fatalf("env file: %v %q", err, data)
	}
	entries, err := os.ReadDir(filepath.Join(b.dir, "profile.d"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("profile.d holds %s: a profile script was written", e.Name())
	}
}

// SPEC §7: NAME_FILE outside the secrets folders is an ordinary variable:
// a service sees SSL_CERT_FILE and no SSL_CERT.
func TestOnlySecretsDirsExpanded(t *testing.T) {
	t.Parallel()
	secrets := t.TempDir()
	writeFile(t, filepath.Join(secrets, "pw"), "hunter2\n", false)
	bundle := filepath.Join(t.TempDir(), "ca.crt")
	writeFile(t, bundle, "-----BEGIN CERTIFICATE-----\n", false)
	b := boot(t, spec{
		env: []string{"SVINIT_SECRETS_DIRS=/nonexistent:" + secrets, "PW_FILE=" + secrets + "/pw", "SSL_CERT_FILE=" + bundle},
		main: []string{"sh", "-c", `test "$PW" = hunter2 || exit 3
test -z "${SSL_CERT+set}" || exit 4
test "$SSL_CERT_FILE" = "` + bundle + `" || exit 5`},
	})
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("main command: exit %d (3: PW not expanded, 4: SSL_CERT expanded, 5: SSL_CERT_FILE changed)", got)
	}
	if line := b.out.find(regexp.MustCompile(`SSL_CERT|nonexistent`)); line != "" {
		t.Errorf("svinit said something about a non-secret or a missing secrets folder: %q", line)
	}
}
