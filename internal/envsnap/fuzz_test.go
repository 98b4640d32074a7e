package envsnap

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzQuoteRoundTrip: what Quote writes, Parse reads back exactly, in both
// file forms.
func FuzzQuoteRoundTrip(f *testing.F) {
	for _, v := range nasty {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			t.Skip("environments cannot hold NUL bytes")
		}
		for _, prefix := range []string{"", "export "} {
			got, err := Parse("fuzz", []byte(prefix+"K="+Quote(v)+"\n"))
			if err != nil {
				t.Fatalf("Parse(%s%q): %v", prefix, Quote(v), err)
			}
			if got["K"] != v || len(got) != 1 {
				t.Fatalf("round trip of %q gave %q", v, got)
			}
		}
	})
}

// FuzzReadFile: Parse never panics or hangs, and whatever it accepts
// survives being written with Quote and parsed again.
func FuzzReadFile(f *testing.F) {
	for _, s := range []string{
		"", "A=1\n", "export A=\"x\\\"y\"\n# c\nB='q'\n", "A=\"open", "A=$X", "1=2",
		"A=a\\\nb", "A=\"\\", "\r\n\t", "export", "export A", "A=1 # c", "A='\n'\"\n\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := Parse("fuzz", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error %q does not name FILE:LINE", err)
			}
			return
		}
		var b strings.Builder
		for k, v := range vars {
			b.WriteString(k + "=" + Quote(v) + "\n")
		}
		again, err := Parse("again", []byte(b.String()))
		if err != nil || !reflect.DeepEqual(again, vars) {
			t.Fatalf("rewritten %q: %v, %q; want %q", b.String(), err, again, vars)
		}
	})
}
