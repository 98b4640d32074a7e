// Package jsontest checks hand-written JSON codecs (internal/jsoncodec)
// against encoding/json. Tests only: svinit must not link it.
package jsontest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"alpine-server/internal/jsoncodec"
)

// Fill sets every field of *v, recursively, to a value that is not zero
// (pointers allocated, lists of two, strings that need escaping), so that
// a field a hand codec forgets shows up against encoding/json.
func Fill(v any) { fill(reflect.ValueOf(v).Elem(), 0) }

func fill(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, n, time.FixedZone("", 3600))))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), n+i)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[jsoncodec.Raw]() {
			v.SetBytes([]byte(`{"jobs":[{"line":1,"cmd":"a \u0026\u0026 b"}],"n":null}`))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n+1)
	case reflect.String:
		v.SetString("s<" + string(rune('a'+n%26)) + ">&\u2028é\x01\"\\")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(n + 1))
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(uint64(n + 1))
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.25)
	default:
		panic("jsontest.Fill: no rule for " + v.Type().String())
	}
}

// Same fails t unless v's AppendJSON writes what json.Marshal(v) writes,
// for v as given and with every field filled (Fill on a copy).
func Same[T jsoncodec.Value](t testing.TB, v T) {
	t.Helper()
	full := v
	Fill(&full)
	for _, x := range []T{v, full} {
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsoncodec.Encode(x); string(got) != string(want) {
			t.Errorf("%T by hand:\n got %s\nwant %s", x, got, want)
		}
	}
}
