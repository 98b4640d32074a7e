package e2e

import (
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// server is a booted container reachable over SSH as root.
type server struct {
	*container
	client *client
	addr   string
	root   *ssh.Client
	host   ssh.PublicKey // the host key the server presented
}

// boot starts the image as `make start` does (keys on /boot/ssh, SSH
// published on 127.0.0.1) plus flags, logs in as root and logs how long
// the boot took and how much memory the container uses.
func boot(t *testing.T, s settings, flags ...string) *server {
	t.Helper()
	cl := newClient(t)
	dir := bootDir(t, cl, "root", "user")
	start := time.Now()
	c := runContainer(t, s.image, append([]string{"-v", dir + ":/boot/ssh", "-p", "127.0.0.1::22"}, flags...)...)
	srv := &server{container: c, client: cl, addr: c.publishedPort("22")}
	srv.root, srv.host, _ = cl.waitLogin(t, srv.addr, "root")
	t.Logf("boot: SSH login as root %s after docker run; memory %s", time.Since(start).Round(time.Millisecond), c.memory())
	return srv
}
