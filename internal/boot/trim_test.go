package boot

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestTrimBinaryPages trims the test binary itself: its read-only mappings
// are mapped afresh and cut into one-page mappings (so that a later fault
// cannot read ahead), and the program runs on.
func TestTrimBinaryPages(t *testing.T) {
	before := ownMappings()
	if len(before) == 0 {
		t.Skip("no read-only mapping of /proc/self/exe")
	}
	pages := 0
	for _, m := range before {
		pages += int(m.end-m.start) / os.Getpagesize()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if got, want := trimBinaryPages(ctx), pages*os.Getpagesize(); got != want {
		t.Errorf("trimBinaryPages remapped %d bytes, want all %d", got, want)
	}
	after := ownMappings()
	if len(after) < pages*9/10 {
		t.Errorf("%d mappings of the binary after the trim, want about one per page (%d pages)", len(after), pages)
	}
	// Code and data read after the trim are the binary's own bytes.
	if s := strings.Repeat("ok", 3); s != "okokok" {
		t.Errorf("after the trim: %q", s)
	}
	for _, m := range after {
		if m.anon {
			t.Errorf("mapping %#x-%#x holds anonymous pages after the trim", m.start, m.end)
		}
	}
}

// TestKeeper: PID 1 remaps itself only when it maps more than keepSlack
// pages over its idle working set, at most every retrimInterval, and
// learns the idle set again after each remap (else the idle set alone
// would trigger a remap, and its re-reads, every time).
func TestKeeper(t *testing.T) {
	t0 := time.Now()
	k := keeper{settled: -1, last: t0}
	if k.wantsRemap(300, t0.Add(time.Hour)) {
		t.Fatal("first tick after the trim: remap, want it to learn the idle set")
	}
	if k.wantsRemap(300+keepSlack, t0.Add(time.Hour)) {
		t.Error("idle set + slack: remap, want none")
	}
	if k.wantsRemap(500, t0.Add(retrimInterval/2)) {
		t.Error("remap before retrimInterval passed")
	}
	if !k.wantsRemap(500, t0.Add(retrimInterval)) {
		t.Fatal("PID 1 maps 200 pages over its idle set after retrimInterval: no remap")
	}
	if k.wantsRemap(500, t0.Add(time.Hour)) || k.settled != 500 {
		t.Errorf("first tick after a remap: settled %d, want it to learn 500 without a remap", k.settled)
	}
}

func TestFilePages(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "statm")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("1234 567 89 10 0 11 0\n"); err != nil {
		t.Fatal(err)
	}
	if got := filePages(f, make([]byte, 128)); got != 89 {
		t.Errorf("filePages = %d, want 89", got)
	}
	statm, err := os.Open("/proc/self/statm")
	if err != nil {
		t.Skip(err)
	}
	defer statm.Close()
	if got := filePages(statm, make([]byte, 128)); got <= 0 {
		t.Errorf("filePages of /proc/self/statm = %d, want > 0", got)
	}
}
