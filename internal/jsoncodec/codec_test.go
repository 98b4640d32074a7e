package jsoncodec

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// reference is encoding/json's encoding of v, with or without HTML
// escaping, without the Encoder's newline.
func reference(t testing.TB, v any, html bool) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(html)
	err := enc.Encode(v)
	return strings.TrimSuffix(buf.String(), "\n"), err
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", `a "b" \c\`, "\x00\x01\b\f\n\r\t\x1f\x7f", "a\xffb\xc3(\xed\xa0\x80z",
		"end\xe2\x82", "héllo ✓ 😀", "\uFFFD", "a\u2028b\u2029c", "<a href='x'>&</a>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			want, err := reference(t, s, html)
			if err != nil {
				t.Fatal(err)
			}
			got := AppendString([]byte("x"), s)
			if html {
				got = AppendStringHTML([]byte("x"), s)
			}
			if string(got) != "x"+want {
				t.Fatalf("html=%v %q:\n got %s\nwant %s", html, s, got[1:], want)
			}
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-6, 9.99e-7, 1e20, 1e21, 123456789e-17,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(-1)} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		want, jerr := reference(t, x, true)
		got, err := appendFloat(nil, x)
		if (err != nil) != (jerr != nil) || err == nil && string(got) != want {
			t.Fatalf("%v: got %s (%v), want %s (%v)", x, got, err, want, jerr)
		}
	})
}

func FuzzIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":{}},[]],"c":"x\"{,:}"}`, ` [ 1 , "a" , { "k" : null } ] `,
		`"s"`, `-1.5e3`, `{"a":[[[]]],"b":[{}]}`, "[\n\t1\r]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) {
			return
		}
		src = bytes.TrimRight(src, " \t\r\n") // json.Indent keeps trailing space
		var want bytes.Buffer
		if err := json.Indent(&want, src, "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := Indent(nil, src); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("Indent(%q):\n got %q\nwant %q", src, got, want.Bytes())
		}
	})
}

// FuzzRaw: any value the decoder accepts is valid JSON for encoding/json,
// kept byte for byte.
func FuzzRaw(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"x\u00e9\ud83d\ude00"],"b":{"c":null,"d":true}}`, `[]`, `"\/"`, `-0`,
		`{"a":1,"a":2}`, `[1,]`, `01`, "\"\xff\"", `"\ud800"`, strings.Repeat("[", 33) + strings.Repeat("]", 33)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d := NewDecoder(src)
		raw := d.Raw()
		if d.End() != nil {
			return
		}
		if !json.Valid(src) {
			t.Fatalf("accepted %q, which encoding/json rejects", src)
		}
		if !bytes.Equal(raw, bytes.TrimSpace(src)) {
			t.Fatalf("raw %q of %q", raw, src)
		}
	})
}

// FuzzStr: a string the decoder accepts decodes as encoding/json decodes it.
func FuzzStr(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00\ud83d"`,
		`"\uD83D\uDE00"`, "\"\xe2\x82\"", `"\u0000"`, `"\ud83d\u0041"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d := NewDecoder(src)
		got := d.Str()
		if d.End() != nil {
			return
		}
		var want string
		if err := json.Unmarshal(src, &want); err != nil || got != want {
			t.Fatalf("%q: got %q, encoding/json %q (%v)", src, got, want, err)
		}
	})
}

func TestWriterMatchesEncodingJSON(t *testing.T) {
	type inner struct {
		A int64 `json:"a"`
	}
	type all struct {
		S   string    `json:"s"`
		SO  string    `json:"so,omitempty"`
		B   bool      `json:"b"`
		BO  bool      `json:"bo,omitempty"`
		I   int64     `json:"i"`
		IO  int64     `json:"io,omitempty"`
		U   uint64    `json:"u"`
		F   float64   `json:"f"`
		FO  float64   `json:"fo,omitempty"`
		T   time.Time `json:"t"`
		L   []string  `json:"l"`
		LO  []string  `json:"lo,omitempty"`
		N   []inner   `json:"n"`
		NO  []inner   `json:"no,omitempty"`
		R   Raw       `json:"r"`
		RO  Raw       `json:"ro,omitempty"`
		Nil []inner   `json:"nil"`
	}
	v := all{S: "<&>", I: -3, U: math.MaxUint64, F: 1e-7, T: time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC),
		L: []string{}, N: []inner{{1}, {2}}, R: Raw(`{"x":[]}`)}
	var w Writer
	w.Open()
	w.String("s", v.S, Always)
	w.String("so", v.SO, OmitEmpty)
	w.Bool("b", v.B, Always)
	w.Bool("bo", v.BO, OmitEmpty)
	w.Int("i", v.I, Always)
	w.Int("io", v.IO, OmitEmpty)
	w.Uint("u", v.U, Always)
	w.Float("f", v.F, Always)
	w.Float("fo", v.FO, OmitEmpty)
	w.Time("t", v.T)
	w.Strings("l", v.L, Always)
	w.Strings("lo", v.LO, OmitEmpty)
	each := func(x *inner, w *Writer) { w.Open(); w.Int("a", x.A, Always); w.Close() }
	AppendList(&w, "n", v.N, Always, each)
	AppendList(&w, "no", v.NO, OmitEmpty, each)
	w.Raw("r", v.R, Always)
	w.Raw("ro", v.RO, OmitEmpty)
	AppendList(&w, "nil", v.Nil, Always, each)
	w.Close()
	want, err := json.Marshal(v)
	if err != nil || w.Err() != nil || string(w.B) != string(want) {
		t.Errorf("got %s (%v)\nwant %s (%v)", w.B, w.Err(), want, err)
	}
}

func TestWriterErrors(t *testing.T) {
	var w Writer
	w.Open()
	w.Float("x", math.NaN(), Always)
	w.Time("t", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	w.Close()
	if w.Err() == nil || w.Err().Error() != `field "x": unsupported value NaN` {
		t.Errorf("error %v", w.Err())
	}
	if got := string(Encode(badValue{})); got != `{"error":"encode: field \"t\": Time.MarshalJSON: year outside of range [0,9999]"}` {
		t.Errorf("Encode of an unencodable value: %s", got)
	}
	if Encode(nil) != nil {
		t.Error("Encode(nil) is not nil")
	}
}

type badValue struct{}

func (badValue) AppendJSON(w *Writer) {
	w.Open()
	w.Time("t", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC))
	w.Close()
}

func TestDecoderNamesWhatItFound(t *testing.T) {
	for in, want := range map[string]string{
		"\xff": "want a string, found byte 0xff (offset 0)", "x": "want a string, found 'x' (offset 0)",
		"": "want a string, found the end (offset 0)", "{": "want a string, found an object (offset 0)",
	} {
		d := NewDecoder([]byte(in))
		d.Str()
		if err := d.End(); err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func TestDecoderDepthAndPaths(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	d := NewDecoder([]byte(deep))
	d.Raw()
	if err := d.End(); err == nil || !strings.Contains(err.Error(), "nested deeper than 32") {
		t.Errorf("deep: %v", err)
	}
	d = NewDecoder([]byte(`{"a":[{"b":"x"},{"b":7}]}`))
	d.Object(func(k string) bool {
		ReadObjects(d, func(v *struct{}, d *Decoder, k string) bool { d.Str(); return true })
		return true
	})
	if err := d.End(); err == nil || err.Error() != `key "a[1].b": want a string, found a number (offset 21)` {
		t.Errorf("path: %v", err)
	}
}
