package boot

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// splitPages is the size, in pages, of the small mappings the binary's
// read-only mappings are cut into before the page-out: a later fault reads
// at most this much of the file back.
const splitPages = 1

// trimBinaryPages asks the kernel to page out svinit's own file-backed
// pages (its text, rodata and pclntab) once boot has settled, and returns
// the boot's garbage to the kernel. In a container the page cache is
// charged to the container (SPEC §12), and exec's readahead (read_ahead_kb
// is 8 MiB on many disks) leaves the whole 4 MB binary resident although
// PID 1 then runs a small loop. Returns the bytes advised. Errors (old
// kernels lack MADV_PAGEOUT) are not worth a word. Only svinit's own file
// is touched; other processes running it (sv, su-exec) keep what they map.
func trimBinaryPages() int {
	total := 0
	for _, m := range ownMappings() {
		splitMapping(m)
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT)
		if errno == 0 {
			total += int(m.end - m.start)
		}
	}
	dropUnmapped()
	// Boot's garbage (manifests, plans, startup output) is still on the
	// heap: no GC has run yet in a quiet PID 1. Collect it and give the
	// pages back now rather than at the next forced GC two minutes on.
	debug.FreeOSMemory()
	return total
}

// mapping is one read-only mapping of our own binary.
type mapping struct{ start, end uintptr }

// ownMappings lists the read-only mappings of /proc/self/exe: never the
// writable data, whose dirty pages cannot be dropped.
func ownMappings() []mapping {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00800000 r-xp 00000000 fd:01 1234   /sbin/svinit
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if ok && err1 == nil && err2 == nil && end > start {
			out = append(out, mapping{uintptr(start), uintptr(end)})
		}
	}
	return out
}

// splitMapping makes a later fault bring in one page, not a window. It
// marks the whole mapping MADV_RANDOM: a fault on a data mapping otherwise
// reads around ra_pages (read_ahead_kb, 8 MiB here), i.e. the whole binary.
// And it cuts the mapping into mappings of splitPages pages, marking every
// other one MADV_DONTDUMP (which only leaves them out of core dumps) so
// that neighbours differ and do not merge: since Linux 6.16 a fault on
// executable memory ignores MADV_RANDOM and reads ahead to the end of its
// mapping, and fault-around maps up to 64 KiB of cached pages around any
// fault (pages a short-lived `sv` just read); both stop at a mapping's end.
func splitMapping(m mapping) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_RANDOM)
	step := uintptr(splitPages * os.Getpagesize())
	for a := m.start; a < m.end; a += 2 * step {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, a, min(step, m.end-a), unix.MADV_DONTDUMP)
	}
}

// dropUnmapped drops the binary's page-cache pages that nothing maps:
// readahead at exec brought in more than was ever faulted, and
// MADV_PAGEOUT only reclaims pages that were mapped. Mapped pages stay.
func dropUnmapped() {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
