package control

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/jsoncodec/jsontest"
)

// mustMarshal is encoding/json's encoding of v, the reference.
func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCodecCoversEveryField encodes requests and responses with every
// field set, and with none, by hand and with encoding/json: the bytes must
// be the same, and decoding must give back the value.
func TestCodecCoversEveryField(t *testing.T) {
	var req Request
	jsontest.Fill(&req)
	var resp Response
	jsontest.Fill(&resp)
	for _, tt := range []struct {
		name string
		v    any
		enc  func() ([]byte, error)
		dec  func([]byte) (any, error)
	}{
		{"full request", req, func() ([]byte, error) { return encodeRequest(&req) }, decReq},
		{"empty request", Request{}, func() ([]byte, error) { return encodeRequest(&Request{}) }, decReq},
		{"full response", resp, func() ([]byte, error) { return encodeResponse(&resp) }, decResp},
		{"empty response", Response{}, func() ([]byte, error) { return encodeResponse(&Response{}) }, decResp},
	} {
		got, err := tt.enc()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if want := mustMarshal(t, tt.v); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, want)
		}
		back, err := tt.dec(got)
		if err != nil || !reflect.DeepEqual(back, tt.v) {
			t.Errorf("%s: decoded %+v, %v\nwant %+v", tt.name, back, err, tt.v)
		}
	}
}

func decReq(b []byte) (any, error)  { return parseRequest(b) }
func decResp(b []byte) (any, error) { return parseResponse(b) }

func TestIndentServicesMatchesMarshalIndent(t *testing.T) {
	var full ServiceStatus
	jsontest.Fill(&full)
	for _, services := range [][]ServiceStatus{nil, {}, {{Name: "a"}}, {full, {Name: "b", Detail: jsoncodec.Raw(`{"e":{},"l":[]}`)}}} {
		got, err := indentServices(services)
		if err != nil {
			t.Fatal(err)
		}
		ref := services
		if ref == nil {
			ref = []ServiceStatus{}
		}
		want, err := json.MarshalIndent(ref, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("indent %d services:\n got %s\nwant %s", len(services), got, want)
		}
	}
}

// TestDecodeRequestStrict: issue 8 item 9 — keys match exactly, a
// duplicate is an error (it used to take the last value, so
// {"verb":"status","verb":"shutdown"} shut the container down).
func TestDecodeRequestStrict(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"verb":"status","verb":"shutdown"}`, `invalid request: duplicate key "verb" (offset 17)`},
		{`{"names":["a"],"verb":"stop","names":["b"]}`, `invalid request: duplicate key "names" (offset 29)`},
		{`{"Verb":"shutdown"}`, `invalid request: unknown key "Verb" (offset 1)`},
		{`{"VERB":"shutdown"}`, `invalid request: unknown key "VERB" (offset 1)`},
		{`{"verb":"stop","Names":["a"]}`, `invalid request: unknown key "Names" (offset 15)`},
		{`{"verb":null}`, `invalid request: key "verb": want a string, found null (offset 8)`},
		{`{"verb":"start","names":null}`, `invalid request: key "names": want a list, found null (offset 24)`},
		{`{"verb":"start","names":["a",1]}`, `invalid request: key "names[1]": want a string, found a number (offset 29)`},
		{`{"verb":"start","names":["a"],"wait":"5"}`, `invalid request: key "wait": want a number, found a string (offset 37)`},
		{`{"verb":"start","names":["a"],"wait":1e999}`, `invalid request: key "wait": number 1e999 out of range (offset 37)`},
		{`{"verb":"start","names":["a"],"wait":01}`, `invalid request: want ',' or '}', found a number (offset 38)`},
		{`{"verb":"start","names":["a"],"wait":1.}`, `invalid request: key "wait": malformed number (offset 38)`},
		{`{"verb":"start","names":["a"],"wait":-}`, `invalid request: key "wait": malformed number (offset 38)`},
		{`{"verb":"shutdown","now":1}`, `invalid request: key "now": want true or false, found a number (offset 25)`},
		{`{"verb":"status"`, `invalid request: want ',' or '}', found the end (offset 16)`},
		{`{"verb":"sta`, `invalid request: key "verb": unterminated string (offset 12)`},
		{`{"verb":"st` + "\x01" + `"}`, `invalid request: key "verb": control character in string (offset 11)`},
		{`{"verb":"st` + "\xff" + `"}`, `invalid request: key "verb": invalid UTF-8 in string (offset 11)`},
		{`{"verb":"\ud800"}`, `invalid request: key "verb": invalid escape in string (offset 9)`},
		{`{"verb":"\x"}`, `invalid request: key "verb": invalid escape in string (offset 9)`},
		{`{"verb":"status",}`, `invalid request: want a key, found '}' (offset 17)`},
		{`{"verb":"status"} x`, `invalid request: data after the JSON value (offset 18)`},
		{`["verb"]`, `invalid request: want an object, found a list (offset 0)`},
		{`null`, `invalid request: want an object, found null (offset 0)`},
		{``, `invalid request: want an object, found the end (offset 0)`},
		{`{"verb":"stop","names":["a"],"now":true}`, `now is only for shutdown, not stop`},
		{"{\"verb\":\"status\"}\n", ``},
		{` {"verb" : "st\u0061tus" , "names" : [ "web" ] } ` + "\r\n", ``},
		{`{"verb":"shutdown","now":true}`, ``},
		{`{"verb":"wait","names":["a"],"wait":1.5e1}`, ``},
	}
	for _, tt := range tests {
		_, err := decodeRequest([]byte(tt.in))
		if errText(err) != tt.want {
			t.Errorf("decodeRequest(%s)\n error %q\n  want %q", tt.in, errText(err), tt.want)
		}
	}
}

// TestParseResponseStrict: sv reads svinit's answer as strictly, and names
// what is wrong.
func TestParseResponseStrict(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"ok":true,"ok":false}`, `duplicate key "ok" (offset 11)`},
		{`{"ok":true,"services":[{"name":"a","bogus":1}]}`, `key "services[0]": unknown key "bogus" (offset 35)`},
		{`{"services":[{"name":"a","last_exit":{"code":1.5}}]}`, `key "services[0].last_exit.code": want an integer, found 1.5 (offset 45)`},
		{`{"services":[{"since":"yesterday"}]}`, `key "services[0].since": want an RFC 3339 time, found "yesterday" (offset 22)`},
		{`{"services":[{"pid":99999999999999999999}]}`, `key "services[0].pid": want an integer, found 99999999999999999999 (offset 20)`},
		{`{"services":[{"detail":` + strings.Repeat("[", 40) + `}]}`, `key "services[0].detail` + strings.Repeat("[0]", 29) + `": nested deeper than 32 (offset 52)`},
		{``, `empty answer`},
		{`{"ok":true,"services":[{"name":"cron","detail":{"jobs":[{"a":1}]}}]}`, ``},
	}
	for _, tt := range tests {
		_, err := parseResponse([]byte(tt.in))
		if errText(err) != tt.want {
			t.Errorf("parseResponse(%s)\n error %q\n  want %q", tt.in, errText(err), tt.want)
		}
	}
}

// TestReadAnswerBounded: a runaway answer is refused, not buffered.
func TestReadAnswerBounded(t *testing.T) {
	r := io.MultiReader(strings.NewReader(`{"text":"`), strings.NewReader(strings.Repeat("x", 1<<20)))
	if _, err := readAnswer(bufio.NewReader(r), 1<<16); err == nil || err.Error() != "answer longer than 65536 bytes" {
		t.Errorf("error %v", err)
	}
	line, err := readAnswer(bufio.NewReader(strings.NewReader("{}\nmore")), 1<<16)
	if err != nil || string(line) != "{}\n" {
		t.Errorf("line %q, %v", line, err)
	}
	if _, err := readAnswer(bufio.NewReader(strings.NewReader("")), 1<<16); !errors.Is(err, io.EOF) {
		t.Errorf("empty answer: %v", err)
	}
}

// jsonDecodeRequest is what encoding/json accepts as a request: the
// reference the strict decoder must never be more lenient than.
func jsonDecodeRequest(line []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, errors.New("data after the JSON object")
	}
	return req, nil
}

// FuzzParseRequest: the strict decoder never panics, accepts nothing that
// encoding/json rejects, decodes what it accepts as encoding/json does,
// and what it accepts encodes back byte for byte as encoding/json would.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"verb":"status"}`, `{"verb":"up","names":["web"],"wait":7}`, `{"verb":"shutdown","now":true}`,
		`{"verb":"status","verb":"shutdown"}`, `{"Verb":"status"}`, `{"verb":"\u0073tatus"}`,
		`{"verb":"wait","names":["db"],"wait":1.5e-3}`, `{"names":[],"wait":-0}`, `{"verb":"\ud83d\ude00"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, err := parseRequest(line)
		if err != nil {
			return
		}
		want, jerr := jsonDecodeRequest(line)
		if jerr != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", line, jerr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %q as %+v; encoding/json %+v", line, got, want)
		}
		b, err := encodeRequest(&got)
		if jb, jerr := json.Marshal(got); err != nil || jerr != nil || !bytes.Equal(b, jb) {
			t.Fatalf("re-encoded %+v as %s (%v); encoding/json %s (%v)", got, b, err, jb, jerr)
		}
	})
}

// FuzzParseResponse is FuzzParseRequest for answers.
func FuzzParseResponse(f *testing.F) {
	var full Response
	jsontest.Fill(&full)
	f.Add(mustMarshal(f, full))
	for _, s := range []string{
		`{"ok":true}`, `{"ok":false,"error":"x","results":[{"name":"a","ok":false,"error":"timeout"}]}`,
		`{"services":[{"name":"a","since":"2025-01-02T03:04:05.5+01:00","detail":{"x":[1,{"y":null}]}}]}`,
		`{"services":[{"last_exit":{"code":-1,"signal":"KILL","time":"0001-01-01T00:00:00Z"}}]}`,
		`{"text":"a\nb \u2028"}`, `{"OK":true}`, `{"services":[{"detail": [ 1 , 2 ] }]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got, err := parseResponse(line)
		if err != nil {
			return
		}
		var want Response
		if jerr := json.Unmarshal(line, &want); jerr != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", line, jerr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %q as %+v; encoding/json %+v", line, got, want)
		}
		b, err := encodeResponse(&got)
		jb, jerr := json.Marshal(got)
		if err != nil || jerr != nil {
			return // raw detail holding what encoding/json compacts differently
		}
		if !bytes.Equal(b, jb) && compactRaw(got) {
			t.Fatalf("re-encoded %+v as %s; encoding/json %s", got, b, jb)
		}
	})
}

// compactRaw says whether every detail is already compact and HTML-safe,
// as svinit writes it: only then must the bytes agree.
func compactRaw(r Response) bool {
	for _, s := range r.Services {
		var b bytes.Buffer
		if len(s.Detail) > 0 && (json.Compact(&b, s.Detail) != nil || !bytes.Equal(b.Bytes(), s.Detail) ||
			bytes.ContainsAny(s.Detail, "<>&") || bytes.Contains(s.Detail, []byte("\u2028")) || bytes.Contains(s.Detail, []byte("\u2029"))) {
			return false
		}
	}
	return true
}

// FuzzEncodeResponse: whatever values a response holds, the hand encoder
// writes what encoding/json writes, fails where it fails, and the strict
// decoder reads it back as encoding/json does.
func FuzzEncodeResponse(f *testing.F) {
	f.Add("web", "run", "ti<m>e&out", int64(23), 1.6, int64(1735787045), int64(5), 3600, true)
	f.Add("", "\xff\u2028", "\x00", int64(-1), math.Inf(1), int64(-62135596800), int64(0), 0, false)
	f.Add("a", "b", "c", int64(math.MaxInt64), 1e21, int64(253402300800), int64(999999999), -86340, true)
	f.Add("a", "b", "c", int64(math.MinInt64), 1e-7, int64(0), int64(1), 90000, false)
	f.Fuzz(func(t *testing.T, name, state, text string, n int64, x float64, sec, nsec int64, offset int, flag bool) {
		at := time.Unix(sec, nsec).In(time.FixedZone("", offset))
		resp := Response{OK: flag, Error: text, Text: text,
			Services: []ServiceStatus{{Name: name, State: state, Pid: int(n), Since: at, Ready: flag,
				Restarts: int(n), RestartIn: x, Health: text, StatusText: state,
				LastExit: &ExitInfo{Code: int(n), Signal: name, Time: at}}},
			Results: []Result{{Name: name, OK: flag, Error: text}}}
		b, err := encodeResponse(&resp)
		jb, jerr := json.Marshal(resp)
		if (err != nil) != (jerr != nil) {
			t.Fatalf("encode %+v: error %v; encoding/json %v", resp, err, jerr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(b, jb) {
			t.Fatalf("encoded %+v\n as %s\nwant %s", resp, b, jb)
		}
		var want Response
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, err := parseResponse(b)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %s as %+v (%v); encoding/json %+v", b, got, err, want)
		}
	})
}
