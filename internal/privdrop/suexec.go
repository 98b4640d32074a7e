package privdrop

import (
	"alpine-server/internal/reaper"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

const usage = "usage: su-exec USER[:GROUP] CMD [ARG...]"

// SuExec is the su-exec command. args are the arguments after the program
// name: USER[:GROUP] CMD [ARG...]. It sets HOME, drops to the credential
// (setgroups, setgid, setuid) and execs CMD, found on PATH after the drop as
// su-exec's execvp does, so no process of ours stays behind. It returns only
// on error: 1 with one line on stderr (usage, refusal, unknown user, failed
// exec), or 0 for -h/--help.
//
// Missing arguments exit 1 as gosu does (ncopa/su-exec exits 0 there, which
// hides mistakes in scripts).
func SuExec(args []string, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stderr, usage)
		return 0
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, usage)
		return 1
	}
	if err := suExec(args[0], args[1:]); err != nil {
		fmt.Fprintf(stderr, "su-exec: %v\n", err)
		return 1
	}
	return 1 // unreachable: suExec returns only with an error
}

func suExec(spec string, argv []string) error {
	if err := refuseSetuid(); err != nil {
		return err
	}
	c, err := DB{}.Parse(spec)
	if err != nil {
		return err
	}
	if err := os.Setenv("HOME", c.Home); err != nil {
		return fmt.Errorf("set HOME: %w", err)
	}
	if err := Drop(c); err != nil {
		return err
	}
	path, err := reaper.LookPath(argv[0], os.Environ())
	if err != nil {
		return err
	}
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}

// Drop switches the whole process to c: setgroups, then setgid, then
// setuid (after setuid we could no longer change groups). Since Go 1.16 the
// syscall package applies these to every thread of the process
// (AllThreadsSyscall, or libc when cgo is linked), so no goroutine keeps
// root on another thread.
func Drop(c *Credential) error {
	gids := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		gids[i] = int(g)
	}
	if err := syscall.Setgroups(gids); err != nil {
		return fmt.Errorf("setgroups %v: %w", c.Groups, err)
	}
	if err := syscall.Setgid(int(c.Gid)); err != nil {
		return fmt.Errorf("setgid %d: %w", c.Gid, err)
	}
	if err := syscall.Setuid(int(c.Uid)); err != nil {
		return fmt.Errorf("setuid %d: %w", c.Uid, err)
	}
	return nil
}

// refuseSetuid fails when su-exec could be used to gain privileges: when
// its file has the setuid or setgid bit (checked on os.Executable, i.e.
// /proc/self/exe, as gosu does — this catches it even when root runs it), or
// when real and effective ids differ (the bit took effect, whatever the
// file says now).
func refuseSetuid() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return fmt.Errorf("stat own executable: %w", err)
	}
	return checkSetuid(exe, fi.Mode(), os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid())
}

// errSetuid is wrapped by the refusal, for tests.
var errSetuid = errors.New("refusing to run setuid or setgid (use sudo or su to gain privileges; su-exec only drops them)")

func checkSetuid(exe string, mode os.FileMode, uid, euid, gid, egid int) error {
	switch {
	case mode&os.ModeSetuid != 0:
		return fmt.Errorf("%s has the setuid bit: %w", exe, errSetuid)
	case mode&os.ModeSetgid != 0:
		return fmt.Errorf("%s has the setgid bit: %w", exe, errSetuid)
	case uid != euid || gid != egid:
		return fmt.Errorf("real and effective ids differ (uid %d/%d, gid %d/%d): %w", uid, euid, gid, egid, errSetuid)
	}
	return nil
}
