package boot

import (
	"bufio"
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// splitPages is the size, in pages, of the small mappings the binary's
// read-only mappings are cut into: a later fault reads at most this much
// of the file back.
const splitPages = 1

// Every keepInterval, the keeper drops the binary's page cache again once
// more than keepSlack pages came back, and maps the binary afresh (so that
// PID 1 keeps only what it touches next) at most every retrimInterval.
const (
	keepInterval   = time.Second
	keepSlack      = 64
	retrimInterval = 10 * time.Second
)

// trimBinaryPages leaves in memory only the pages of svinit's own binary
// that PID 1 touches from now on, once boot has settled, and returns the
// boot's garbage to the kernel; then it keeps the binary's page cache
// trimmed until ctx is done. In a container the page cache is charged to
// the container (SPEC §12), and exec's readahead (read_ahead_kb is 8 MiB on
// many disks) caches the whole 4 MB binary although PID 1 then runs a small
// loop. Returns the bytes remapped. Errors are not worth a word: the worst
// case is memory that stays. Only svinit's own file is touched.
//
// MADV_PAGEOUT would be the obvious call, but on this kernel (6.18) it
// leaves the file pages of our own mappings in place (mincore before and
// after agree), so each read-only mapping is mapped afresh over itself
// instead: the new mapping has no pages, and the old ones, now unmapped,
// are dropped from the page cache unless another process maps them.
func trimBinaryPages(ctx context.Context) int {
	// Boot's garbage (manifests, plans, startup output) is still on the
	// heap: no GC has run yet in a quiet PID 1. Collect it and give the
	// pages back now rather than at the next forced GC two minutes on;
	// before the remap, since a GC touches code and type data of its own.
	debug.FreeOSMemory()
	var ms []mapping
	for _, m := range ownMappings() {
		if !m.anon { // a copied-on-write page (a debugger's breakpoint) stays
			ms = append(ms, m)
		}
	}
	total := remapAll(ms, true)
	if total > 0 {
		go keepTrimmed(ctx, ms)
	}
	return total
}

// ReleaseBinary maps this process's read-only mappings of its binary
// afresh and drops the binary's page cache that nothing maps. A
// short-lived `sv` calls it before exiting: exec's readahead cached the
// whole binary, charged to the container, and the pages it mapped would
// otherwise stay until PID 1's keeper drops them. Pages PID 1 maps stay.
func ReleaseBinary() { remapAll(ownMappings(), false) }

// remapAll maps each of ms afresh (cut into one-page mappings when split),
// then drops the unmapped page cache, and returns the bytes remapped.
func remapAll(ms []mapping, split bool) int {
	total := 0
	for _, m := range ms {
		if m.anon || !remap(m, split) {
			continue // a copied-on-write page (a debugger's breakpoint) stays
		}
		total += int(m.end - m.start)
	}
	dropUnmapped()
	return total
}

// keepTrimmed keeps the binary's page cache near what it was after the
// trim. Each `sv` the image's HEALTHCHECK execs reads the whole binary
// (exec's readahead), and PID 1 maps more of it while it answers. mincore
// on our own mappings says which pages of the file are cached, mapped or
// not. ms were listed before the split (which made many mappings of each).
//
// It allocates nothing per tick: garbage would grow PID 1's heap to the
// GC's 4 MiB minimum goal. ms hold no copied-on-write pages (checked at
// the trim): nothing writes to a static Go binary's read-only mappings.
func keepTrimmed(ctx context.Context, ms []mapping) {
	statm, err := os.Open("/proc/self/statm")
	if err != nil {
		return
	}
	defer statm.Close()
	t := time.NewTicker(keepInterval)
	defer t.Stop()
	longest := 0
	for _, m := range ms {
		longest = max(longest, int((m.end-m.start)/uintptr(os.Getpagesize())))
	}
	vec := make([]byte, longest)
	buf := make([]byte, 128)
	k := keeper{settled: -1, last: time.Now()}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mapped := filePages(statm, buf)
		if mapped < 0 {
			return
		}
		if cachedPages(ms, vec) > mapped+keepSlack {
			dropUnmapped() // what an sv left (pages it still maps stay)
		}
		if k.wantsRemap(mapped, time.Now()) {
			remapAll(ms, true)
		}
	}
}

// filePages reads PID 1's resident file-backed pages (the third field of
// /proc/self/statm): for a static binary, its own pages of the binary.
// It returns -1 when statm cannot be read. buf avoids an allocation.
func filePages(statm *os.File, buf []byte) int {
	n, err := statm.ReadAt(buf, 0)
	if n == 0 && err != nil {
		return -1
	}
	field, v := 0, 0
	for _, c := range buf[:n] {
		switch {
		case c == ' ':
			if field == 2 {
				return v
			}
			field, v = field+1, 0
		case c >= '0' && c <= '9':
			v = v*10 + int(c-'0')
		}
	}
	return -1
}

// keeper decides when PID 1 remaps itself: settled is the pages of the
// binary PID 1 mapped one tick after the last remap (its idle working set;
// -1 until measured), last is when that remap was.
type keeper struct {
	settled int
	last    time.Time
}

// wantsRemap learns the idle set on the first tick after a remap, then
// says whether PID 1 maps more than keepSlack pages over it (it answered
// an sv) and the last remap is at least retrimInterval old. A remap costs
// the re-reads of the idle set, hence the slack and the rate limit.
func (k *keeper) wantsRemap(mapped int, now time.Time) bool {
	if k.settled < 0 {
		k.settled = mapped
		return false
	}
	if mapped <= k.settled+keepSlack || now.Sub(k.last) < retrimInterval {
		return false
	}
	k.settled, k.last = -1, now
	return true
}

// cachedPages counts the pages of the mappings ms that are in the page
// cache, using vec (as long as the longest mapping, in pages) for mincore.
func cachedPages(ms []mapping, vec []byte) int {
	n := 0
	for _, m := range ms {
		vec := vec[:(m.end-m.start)/uintptr(os.Getpagesize())]
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, m.start, m.end-m.start, uintptr(unsafe.Pointer(&vec[0])))
		if errno != 0 {
			continue
		}
		for _, b := range vec {
			n += int(b & 1)
		}
	}
	return n
}

// remap maps m's part of the binary afresh over m, with m's protection.
// The contents are the same bytes of the same file, so running code sees
// no change; a thread that runs there meanwhile just faults. With split,
// it maps one piece of splitPages pages at a time and marks each at once
// (markPiece): a fresh mapping of the whole would let any fault in it
// map 64 KiB of the still-cached pages around it (fault-around) before the
// split, and PID 1 would keep them.
func remap(m mapping, split bool) bool {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return false
	}
	defer f.Close()
	prot := unix.PROT_READ
	if m.exec {
		prot |= unix.PROT_EXEC
	}
	step := m.end - m.start
	if split {
		step = uintptr(splitPages * os.Getpagesize())
	}
	for a, k := m.start, 0; a < m.end; a, k = a+step, k+1 {
		n := min(step, m.end-a)
		// Raw: the address is one Go never allocated, not a Go pointer.
		_, _, errno := unix.Syscall6(unix.SYS_MMAP, a, n, uintptr(prot),
			unix.MAP_PRIVATE|unix.MAP_FIXED, f.Fd(), uintptr(m.offset)+(a-m.start))
		if errno != 0 {
			return false
		}
		if split {
			markPiece(a, n, k%2 == 1)
		}
	}
	return true
}

// mapping is one read-only mapping of our own binary.
type mapping struct {
	start, end uintptr
	offset     int64 // in the file
	exec       bool
	anon       bool // holds copied-on-write pages
}

// ownMappings lists the read-only mappings of /proc/self/exe, from
// /proc/self/smaps: never the writable data, whose dirty pages cannot be
// dropped.
func ownMappings() []mapping {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mapping
	var cur *mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "Anonymous:" && cur != nil {
			cur.anon = fields[1] != "0"
			continue
		}
		// 00400000-00800000 r-xp 00000000 fd:01 1234   /sbin/svinit
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok || len(fields) < 5 {
			continue
		}
		cur = nil
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		off, err3 := strconv.ParseInt(fields[2], 16, 64)
		if err1 == nil && err2 == nil && err3 == nil && end > start {
			out = append(out, mapping{start: uintptr(start), end: uintptr(end), offset: off, exec: strings.Contains(fields[1], "x")})
			cur = &out[len(out)-1]
		}
	}
	return out
}

// markPiece makes a later fault in a piece bring in one page, not a
// window. MADV_RANDOM: a fault on a data mapping otherwise reads around
// ra_pages (read_ahead_kb, 8 MiB here), i.e. the whole binary. And every
// other piece MADV_DONTDUMP (which only leaves it out of core dumps), so
// that neighbours differ and stay separate mappings: since Linux 6.16 a
// fault on executable memory ignores MADV_RANDOM and reads ahead to the
// end of its mapping, and fault-around maps up to 64 KiB of cached pages
// around any fault (pages a short-lived `sv` just read); both stop at a
// mapping's end.
func markPiece(a, n uintptr, odd bool) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, a, n, unix.MADV_RANDOM)
	if odd {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, a, n, unix.MADV_DONTDUMP)
	}
}

// dropUnmapped drops the binary's page-cache pages that nothing maps:
// readahead brought in more than was ever faulted. Mapped pages stay.
func dropUnmapped() {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return
	}
	defer f.Close()
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
