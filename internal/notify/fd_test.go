package notify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFD(t *testing.T) {
	for _, tc := range []struct {
		name, write string
		close       bool
		want        string // "" = ready
	}{
		{"newline", "\n", false, ""},
		{"text then newline", "starting up\nmore", false, ""},
		{"closed without newline", "almost", true, "closed its notification fd without writing a newline"},
		{"closed at once", "", true, "closed its notification fd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFD()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			go func() {
				f.W.WriteString(tc.write)
				if tc.close {
					f.W.Close()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = f.Wait(ctx)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("want ready, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("want %q, got %v", tc.want, err)
			}
		})
	}
}

func TestFDCancel(t *testing.T) {
	f, err := NewFD()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Wait(ctx) }()
	f.W.WriteString("no newline yet")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("want context.Canceled, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after cancel")
	}
}
