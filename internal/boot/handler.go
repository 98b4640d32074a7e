package boot

import (
	"context"

	"alpine-server/internal/control"
)

// Handle answers one `sv` request (control.Handler). Verbs on services go
// to the supervisor; reload and shutdown are svinit's own.
func (s *svinit) Handle(ctx context.Context, req control.Request) control.Response {
	switch req.Verb {
	case "reload":
		if err := s.reload(); err != nil {
			return control.Response{Error: err.Error()}
		}
		return control.Response{OK: true}
	case "shutdown":
		s.requestStop(0, "sv shutdown")
		return control.Response{OK: true}
	case "metrics":
		return control.Response{Error: "metrics not available"}
	case "status":
		st, unknown := s.sup.Status(req.Names)
		resp := control.Response{OK: len(unknown) == 0, Services: st}
		for _, n := range unknown {
			resp.Results = append(resp.Results, control.Result{Name: n, Error: "unknown service"})
		}
		return resp
	}
	results := s.sup.Do(ctx, req)
	resp := control.Response{OK: true, Results: results}
	var names []string
	for _, r := range results {
		resp.OK = resp.OK && r.OK
		if r.Error != "unknown service" {
			names = append(names, r.Name)
		}
	}
	resp.Services, _ = s.sup.Status(names)
	return resp
}
