package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// keyCase is one /boot/ssh setup: what the user put there, what the log
// must say, and which host key the server must present (nil: any).
type keyCase struct {
	name  string
	setup func(t *testing.T, s settings, boot string) (flags []string, hostKey ssh.PublicKey)
	noVol bool   // no /boot/ssh volume at all
	port  string // container SSH port (default 22)
	log   string // regexp the container log must match ("" = none)
	login bool   // root logs in with the test key
}

// TestBootSSH covers the /boot/ssh inputs, good and bad: each bad one
// gives one clear log line and the container boots with the rest working.
func TestBootSSH(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	cases := []keyCase{
		{name: "no volume", noVol: true, log: `/boot/ssh is missing or empty`},
		{name: "empty volume", setup: emptyBoot, log: `/boot/ssh is missing or empty`},
		{name: "unknown user", setup: writeFile("authorized_keys/ghost", "ssh-ed25519 AAAA ghost\n"),
			log: `authorized_keys/ghost: no user 'ghost' in /etc/passwd`, login: true},
		{name: "garbage host.key", setup: writeFile("host.key", "not a key\n"),
			log: `host.key is unreadable or not a dropbear private key`, login: true},
		{name: "host.key is a folder", setup: writeFile("host.key/x", ""),
			log: `host.key is unreadable or not a dropbear private key`, login: true},
		{name: "garbage host.pem", setup: writeFile("host.pem", "-----BEGIN NONSENSE-----\nxx\n"),
			log: `host.pem is unreadable or not an OpenSSH/PEM private key`, login: true},
		{name: "SSH_PORT=abc", setup: env("SSH_PORT=abc"),
			log: `SSH_PORT="abc" is not a port number`, login: true},
		{name: "SSH_PORT=2200", setup: env("SSH_PORT=2200"), port: "2200", login: true},
		{name: "host.pem openssh ed25519", setup: opensshPem, log: `host key: converted from /boot/ssh/host.pem`, login: true},
		{name: "host.pem PKCS#1 RSA", setup: rsaPem, log: `host key: converted from /boot/ssh/host.pem`, login: true},
		{name: "host.key dropbear", setup: dropbearKey, log: `host key: /boot/ssh/host.key`, login: true},
	}
	for _, kc := range cases {
		t.Run(kc.name, func(t *testing.T) {
			t.Parallel()
			kc.run(t, s)
		})
	}
}

func (kc keyCase) run(t *testing.T, s settings) {
	cl := newClient(t)
	boot := bootDir(t, cl, "root")
	var flags []string
	var want ssh.PublicKey
	if kc.setup != nil {
		flags, want = kc.setup(t, s, boot)
	}
	port := kc.port
	if port == "" {
		port = "22"
	}
	if !kc.noVol {
		flags = append(flags, "-v", boot+":/boot/ssh")
	}
	c := runContainer(t, s.image, append(flags, "-p", "127.0.0.1::"+port)...)
	c.waitRunning(30*time.Second, "ssh", "syslog", "cron")
	var line string
	if kc.log != "" {
		line = c.waitLog(regexp.MustCompile(`(?m)^.*`+kc.log+`.*$`), 5*time.Second)
	}
	addr := c.publishedPort(port)
	_, got, err := cl.dial(addr, "root", hostKeyAlgo(want)...)
	if got == nil {
		t.Fatalf("no SSH handshake at %s: %v", addr, err)
	}
	if kc.login && err != nil {
		t.Errorf("root login: %v", err)
	}
	if want != nil && !strings.EqualFold(ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want)) {
		t.Errorf("host key %s, want the one from /boot/ssh %s", ssh.FingerprintSHA256(got), ssh.FingerprintSHA256(want))
	}
	t.Logf("log: %q; host key %s; login err: %v", strings.TrimSpace(line), ssh.FingerprintSHA256(got), err)
}

// hostKeyAlgo is the algorithm that asks the server for key's own type.
func hostKeyAlgo(key ssh.PublicKey) []string {
	switch {
	case key == nil:
		return nil
	case key.Type() == ssh.KeyAlgoRSA:
		return []string{ssh.KeyAlgoRSASHA256}
	default:
		return []string{key.Type()}
	}
}

func emptyBoot(t *testing.T, _ settings, boot string) ([]string, ssh.PublicKey) {
	if err := os.RemoveAll(filepath.Join(boot, "authorized_keys")); err != nil {
		t.Fatal(err)
	}
	return nil, nil
}

func writeFile(name, content string) func(*testing.T, settings, string) ([]string, ssh.PublicKey) {
	return func(t *testing.T, _ settings, boot string) ([]string, ssh.PublicKey) {
		p := filepath.Join(boot, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return nil, nil
	}
}

func env(kv string) func(*testing.T, settings, string) ([]string, ssh.PublicKey) {
	return func(*testing.T, settings, string) ([]string, ssh.PublicKey) {
		return []string{"-e", kv}, nil
	}
}

// opensshPem writes an ed25519 host key in OpenSSH's own format.
func opensshPem(t *testing.T, _ settings, boot string) ([]string, ssh.PublicKey) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "e2e host")
	if err != nil {
		t.Fatal(err)
	}
	return writePem(t, boot, block, priv)
}

// rsaPem writes an RSA host key the old PEM way (ssh-keygen -m PEM).
func rsaPem(t *testing.T, _ settings, boot string) ([]string, ssh.PublicKey) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}
	return writePem(t, boot, block, priv)
}

func writePem(t *testing.T, boot string, block *pem.Block, priv any) ([]string, ssh.PublicKey) {
	if err := os.WriteFile(filepath.Join(boot, "host.pem"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return nil, signer.PublicKey()
}

// dropbearKey makes a dropbear-format host key with the image's dropbearkey.
func dropbearKey(t *testing.T, s settings, boot string) ([]string, ssh.PublicKey) {
	out := mustDocker(t, "run", "--rm", "--entrypoint", "/bin/sh", "-v", boot+":/out", s.image, "-c",
		"dropbearkey -t ecdsa -f /out/host.key >/dev/null 2>&1 && chmod 0644 /out/host.key && dropbearkey -y -f /out/host.key | grep ^ecdsa-")
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(out))
	if err != nil {
		t.Fatalf("parse dropbearkey -y output %q: %v", out, err)
	}
	return nil, pub
}
