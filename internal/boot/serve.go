package boot

import (
	"context"
	"errors"

	"alpine-server/internal/control"
)

// bootHandler serves `sv` from the first moment of the boot. shutdown and
// reload go to the boot loop, which decides them in every phase; the other
// verbs are the services' and wait until the services are loaded.
type bootHandler struct{ s *svinit }

// Handle is control.Handler.
func (h bootHandler) Handle(ctx context.Context, req control.Request) control.Response {
	switch req.Verb {
	case "shutdown":
		why := "sv shutdown"
		if req.Now {
			why += " --now"
		}
		h.s.askStop(stopReq{why: why, now: req.Now})
		return control.Response{OK: true}
	case "reload":
		if err := h.s.askReload(ctx); err != nil {
			return control.Response{Error: err.Error()}
		}
		return control.Response{OK: true}
	case "metrics":
		return control.Response{OK: true, Text: string(h.s.renderMetrics())}
	}
	select {
	case <-h.s.loaded:
		return h.s.Handle(ctx, req)
	default:
		return control.Response{Error: "svinit is booting: services are not loaded yet"}
	}
}

// askReload has the boot loop reload the services and waits for the result.
func (s *svinit) askReload(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case s.reloadC <- reply:
	case <-s.loopDone:
		return errors.New("reload: svinit is shutting down")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
