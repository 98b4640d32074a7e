package boot

import (
	"context"
	"os"
	"strings"
	"testing"
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
