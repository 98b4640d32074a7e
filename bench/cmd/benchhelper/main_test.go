package main

import (
	"strings"
	"testing"
)

func TestMessage(t *testing.T) {
	dgram := string(message(nil, "TAG", 42, false))
	if !strings.HasPrefix(dgram, "<13>") || !strings.HasSuffix(dgram, " bench: TAG 42") {
		t.Errorf("datagram message = %q", dgram)
	}
	if stream := string(message(nil, "TAG", 7, true)); !strings.HasSuffix(stream, " bench: TAG 7\n") {
		t.Errorf("stream message = %q, want a newline-framed line", stream)
	}
}

func TestCountArg(t *testing.T) {
	tests := []struct {
		args []string
		n    int
		ok   bool
	}{
		{[]string{"10000"}, 10000, true},
		{nil, 0, false},
		{[]string{"0"}, 0, false},
		{[]string{"x"}, 0, false},
	}
	for _, tt := range tests {
		n, err := countArg(tt.args)
		if n != tt.n || (err == nil) != tt.ok {
			t.Errorf("countArg(%v) = %d, %v", tt.args, n, err)
		}
	}
}

func TestRunRejectsUnknownSubcommand(t *testing.T) {
	if err := run([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("run(nope) = %v, want an error naming it", err)
	}
	if err := run(nil); err == nil {
		t.Error("run() without arguments: no error")
	}
}
