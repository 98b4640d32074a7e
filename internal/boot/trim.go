package boot

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimBinaryPages asks the kernel to page out svinit's own file-backed
// pages (its text, rodata and pclntab) once boot has settled. In a
// container the page cache is charged to the container (SPEC §12), and
// exec's readahead leaves most of the 4 MB binary resident although PID 1
// then runs a small loop; after MADV_PAGEOUT only the pages svinit really
// touches come back, on demand. Clean file pages cost nothing to drop: the
// worst case is a page fault that reads them back. Returns the bytes
// advised. Errors (old kernels lack MADV_PAGEOUT) are not worth a word.
// Other processes running the same file (sv, su-exec) keep what they map.
func trimBinaryPages() int {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00800000 r-xp 00000000 fd:01 1234   /sbin/svinit
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue // only our binary's read-only mappings: never dirty data
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT)
		if errno == 0 {
			total += int(end - start)
		}
		// From now on a fault reads the one page it needs, not a 128 KiB
		// read-around window of code svinit will not run again.
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_RANDOM)
	}
	dropUnmapped(exe)
	return total
}

// dropUnmapped drops the binary's page-cache pages that nothing maps:
// readahead at exec brought in more than was ever faulted, and
// MADV_PAGEOUT only reclaims pages that were mapped. Mapped pages stay.
func dropUnmapped(exe string) {
	f, err := os.Open(exe)
	if err != nil {
		return
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
