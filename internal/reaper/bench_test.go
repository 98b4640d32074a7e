package reaper

import (
	"os/signal"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/logmux"
)

// zombie creates a child that exits at once and is left unreaped
// (CLONE_VM|CLONE_VFORK: the parent resumes once the child has exited;
// the child runs no Go code beyond this frame, as in benchhelper).
//
//go:nosplit
//go:norace
func zombie() syscall.Errno {
	flags := uintptr(syscall.SIGCHLD | syscall.CLONE_VM | syscall.CLONE_VFORK)
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if pid == 0 {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
	return 0
}

// BenchmarkReapOrphans is the per-exit path of `make bench`'s 10,000
// orphans: wait4 and dispatch of exits nobody registered, logged by
// svinit's logger at its default level (debug off).
func BenchmarkReapOrphans(b *testing.B) {
	mux := logmux.New(logmux.Options{})
	defer mux.Close(time.Now().Add(time.Second))
	r := New(mux.Logger("svinit", logmux.Info, logmux.Prefix).Debugf)
	defer signal.Stop(r.sigchld)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for range 1000 {
			if errno := zombie(); errno != 0 {
				b.Fatal(errno)
			}
		}
		b.StartTimer()
		r.reapAll()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/exit")
}
