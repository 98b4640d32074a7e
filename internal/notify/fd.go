package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// FD is the reading end of `ready: {fd: N}`, s6's notification fd: the
// service writes a newline to its fd N when it is ready. W goes to the
// service as fd N (a dup in the child; svinit closes its own copy once the
// child is started, so a service that closes the fd reads as EOF here).
type FD struct {
	R, W *os.File
}

// NewFD makes the pipe (both ends close-on-exec in svinit).
func NewFD() (*FD, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("notification fd: %w", err)
	}
	return &FD{R: r, W: w}, nil
}

// Wait reads until a newline (nil: ready), the end of the pipe (the
// service closed it without a newline: never ready, an error), or ctx's
// end (ctx's error). Bytes before the newline are ignored, as s6 does.
func (f *FD) Wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = f.R.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 512)
	for {
		n, err := f.R.Read(buf)
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			return nil
		}
		switch {
		case errors.Is(err, io.EOF):
			return errors.New("the service closed its notification fd without writing a newline")
		case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("notification fd: %w", err)
		}
	}
}

// Close closes both ends (W may already be closed).
func (f *FD) Close() {
	f.R.Close()
	f.W.Close()
}
