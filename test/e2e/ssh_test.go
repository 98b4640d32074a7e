package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// client is an SSH identity generated for one test.
type client struct {
	signer ssh.Signer
	pub    string // authorized_keys line
}

func newClient(t *testing.T) *client {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &client{signer: signer, pub: string(ssh.MarshalAuthorizedKey(signer.PublicKey()))}
}

// bootDir makes a /boot/ssh folder with authorized_keys for each user.
// The folder is world-readable: the engine reads it as root anyway.
func bootDir(t *testing.T, c *client, users ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "authorized_keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := os.WriteFile(filepath.Join(dir, "authorized_keys", u), []byte(c.pub), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dial logs in as user and returns the client and the host key it saw;
// algos, when given, are the host key algorithms to offer (as a client
// with a known_hosts entry does).
func (c *client) dial(addr, user string, algos ...string) (*ssh.Client, ssh.PublicKey, error) {
	var hostKey ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(c.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			hostKey = key
			return nil
		},
		Timeout:           5 * time.Second,
		HostKeyAlgorithms: algos,
	}
	cl, err := ssh.Dial("tcp", addr, cfg)
	return cl, hostKey, err
}

// waitLogin retries the login until SSH answers (boot takes a moment).
func (c *client) waitLogin(t *testing.T, addr, user string) (*ssh.Client, ssh.PublicKey, time.Duration) {
	t.Helper()
	var cl *ssh.Client
	var key ssh.PublicKey
	var lastErr error
	took := waitFor(t, "an SSH login as "+user+" at "+addr, 30*time.Second, func() bool {
		cl, key, lastErr = c.dial(addr, user)
		return lastErr == nil
	})
	if cl == nil {
		t.Fatalf("ssh %s@%s: %v", user, addr, lastErr)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl, key, took
}

// run runs cmd in a new session; the error carries the output.
func run(cl *ssh.Client, cmd string) (string, error) {
	s, err := cl.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	// Two buffers: the session copies stdout and stderr in two goroutines,
	// and one shared bytes.Buffer would lose output to their race.
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	if err := s.Run(cmd); err != nil {
		return out.String() + errOut.String(), fmt.Errorf("ssh %q: %w: %s", cmd, err, strings.TrimSpace(out.String()+errOut.String()))
	}
	return out.String() + errOut.String(), nil
}

func mustRun(t *testing.T, cl *ssh.Client, cmd string) string {
	t.Helper()
	out, err := run(cl, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loginShell feeds script to the user's login shell (what an interactive
// `ssh host` gets: /etc/profile and /etc/profile.d are read).
func loginShell(t *testing.T, cl *ssh.Client, script string) string {
	t.Helper()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	s.Stdout, s.Stderr = &out, &errOut
	s.Stdin = strings.NewReader(script + "\nexit\n")
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("login shell: %v: %s%s", err, out.String(), errOut.String())
	}
	return out.String() + errOut.String()
}
