package notify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// served is a Socket being served, with what it handed on.
type served struct {
	t    *testing.T
	s    *Socket
	mu   sync.Mutex
	got  []Message
	from []Sender
	acc  func(Sender) bool
	logs []string
	done chan error
	more chan struct{} // gets a value after each handled message
}

func serve(t *testing.T, accept func(Sender) bool) *served {
	t.Helper()
	dir := t.TempDir()
	s, err := Listen(filepath.Join(dir, "web.sock"))
	if err != nil {
		t.Fatal(err)
	}
	sv := &served{t: t, s: s, acc: accept, done: make(chan error, 1), more: make(chan struct{}, 100)}
	go func() {
		sv.done <- s.Serve(sv.acc, func(m Message, from Sender) {
			sv.mu.Lock()
			sv.got, sv.from = append(sv.got, m), append(sv.from, from)
			sv.mu.Unlock()
			sv.more <- struct{}{}
		}, func(format string, args ...any) {
			sv.mu.Lock()
			sv.logs = append(sv.logs, format)
			sv.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		s.Close()
		if err := <-sv.done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return sv
}

// send writes one datagram to the socket, with fds passed as SCM_RIGHTS.
func (sv *served) send(msg string, fds ...int) {
	sv.t.Helper()
	if err := sendTo(sv.s.Path(), msg, fds...); err != nil {
		sv.t.Fatal(err)
	}
}

// sendTo is sd_notify: one datagram from an unbound socket.
func sendTo(path, msg string, fds ...int) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(fd, []byte(msg), oob, &unix.SockaddrUnix{Name: path}, 0)
}

// waitStats waits until the socket's stats satisfy ok.
func (sv *served) waitStats(ok func(Stats) bool) Stats {
	sv.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(sv.s.Stats()) {
		if time.Now().After(deadline) {
			sv.t.Fatalf("stats never as wanted: %+v", sv.s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	return sv.s.Stats()
}

func self(from Sender) bool { return from.Pid == os.Getpid() }

func TestSocketAcceptsTheService(t *testing.T) {
	sv := serve(t, self)
	fi, err := os.Stat(sv.s.Path())
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket file: %v %v", fi.Mode(), err)
	}
	sv.send("READY=1\nSTATUS=serving\n")
	<-sv.more
	sv.mu.Lock()
	defer sv.mu.Unlock()
	want := Message{Ready: true, Status: "serving", HasStatus: true}
	if len(sv.got) != 1 || sv.got[0] != want {
		t.Fatalf("got %+v, want %+v", sv.got, want)
	}
	if f := sv.from[0]; f.Pid != os.Getpid() || f.Uid != os.Getuid() || f.Gid != os.Getgid() {
		t.Errorf("sender %+v, want this process", f)
	}
}

func TestSocketIgnoresAndCounts(t *testing.T) {
	var mu sync.Mutex
	allow := true
	sv := serve(t, func(Sender) bool { mu.Lock(); defer mu.Unlock(); return allow })
	sv.send("READY=0")
	sv.send(strings.Repeat("S", MaxMessage+100))
	sv.send("garbage")
	sv.waitStats(func(s Stats) bool { return s.Malformed == 2 && s.Oversized == 1 })
	mu.Lock()
	allow = false
	mu.Unlock()
	sv.send("READY=1")
	st := sv.waitStats(func(s Stats) bool { return s.Foreign == 1 })
	if st.Accepted != 0 || st.Ignored() != 4 {
		t.Errorf("stats %+v", st)
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if len(sv.got) != 0 {
		t.Errorf("ignored messages were handed on: %+v", sv.got)
	}
	if len(sv.logs) != 4 {
		t.Errorf("want one debug line per ignored message, got %q", sv.logs)
	}
}

// TestSocketClosesPassedFds is what systemd-notify's barrier needs: every
// fd that arrives with a message is closed, whether the message is taken
// or not, and only after the messages before it were handled.
func TestSocketClosesPassedFds(t *testing.T) {
	var mu sync.Mutex
	allow := true
	sv := serve(t, func(Sender) bool { mu.Lock(); defer mu.Unlock(); return allow })
	for _, msg := range []string{"BARRIER=1", "nonsense", "BARRIER=1"} {
		if msg == "BARRIER=1" && sv.s.Stats().Accepted > 0 {
			mu.Lock()
			allow = false // the second barrier comes from a foreign process
			mu.Unlock()
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		sv.send(msg, int(w.Fd()))
		w.Close()
		// The read end sees EOF only once svinit's copy of w is closed too.
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := r.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "EOF") {
			t.Errorf("%q: the passed fd was not closed: %v", msg, err)
		}
		r.Close()
	}
	if st := sv.s.Stats(); st.Accepted != 1 || st.Malformed != 1 || st.Foreign != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestListenRefusesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.sock")
	os.WriteFile(path, []byte("data"), 0o644)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "notify socket "+path+": exists and is not a socket") {
		t.Errorf("Listen over a file: %v", err)
	}
	if _, err := Listen(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil || !strings.Contains(err.Error(), "notify socket") {
		t.Errorf("Listen in a missing folder: %v", err)
	}
}

func TestCloseRemovesTheSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.sock")
	s, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Serve(self, func(Message, Sender) {}, nil) }()
	s.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left behind: %v", err)
	}
}

// TestSystemdNotify drives the socket with Debian's real client, which
// sends READY=1 and STATUS=, then BARRIER=1 with a fd, and waits (5 s)
// until the manager closes it: exit 0 proves the barrier was honoured.
func TestSystemdNotify(t *testing.T) {
	bin, err := exec.LookPath("systemd-notify")
	if err != nil {
		t.Skip("needs systemd-notify (Debian's systemd package; scripts/test-deps installs it)")
	}
	var mu sync.Mutex
	var pgid int
	sv := serve(t, func(f Sender) bool { mu.Lock(); defer mu.Unlock(); return Member(f.Pid, pgid) })
	// As the service's run script would: systemd-notify (as root) names
	// its parent, the script, as the sender of READY=1.
	cmd := exec.Command("/bin/sh", "-c", bin+` --ready --status="accepting connections"; echo exit $?`)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sv.s.Path())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	mu.Lock()
	if err := cmd.Start(); err != nil {
		mu.Unlock()
		t.Fatal(err)
	}
	pgid = cmd.Process.Pid
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); cmd.Process.Kill() }()
	if err := cmd.Wait(); err != nil || out.String() != "exit 0\n" {
		t.Fatalf("systemd-notify: %v\n%s", err, out)
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	var ready bool
	var status string
	for _, m := range sv.got {
		ready = ready || m.Ready
		if m.HasStatus {
			status = m.Status
		}
	}
	if !ready || status != "accepting connections" {
		t.Errorf("got %+v (stats %+v)", sv.got, sv.s.Stats())
	}
	if !sv.got[len(sv.got)-1].Barrier {
		t.Errorf("want the barrier last, got %+v", sv.got)
	}
}

// TestSocketManyFds: more fds than svinit's buffer holds are closed too
// (the kernel drops what does not fit), so a client cannot leak fds into
// PID 1 or hang on a barrier.
func TestSocketManyFds(t *testing.T) {
	sv := serve(t, self)
	var reads []*os.File
	var writes []int
	for range maxFds + 8 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		defer w.Close()
		reads, writes = append(reads, r), append(writes, int(w.Fd()))
	}
	sv.send("BARRIER=1", writes...)
	<-sv.more
	for _, fd := range writes {
		unix.Close(fd)
	}
	for i, r := range reads {
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := r.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "EOF") {
			t.Errorf("fd %d of %d not closed: %v", i, len(reads), err)
		}
	}
}
