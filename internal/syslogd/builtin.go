package syslogd

import (
	"errors"

	"alpine-server/internal/builtin"
	"alpine-server/internal/logmux"
)

var (
	_ builtin.Service = (*Server)(nil)
	_ builtin.Factory = NewService
)

// NewService is the builtin.Factory of `[builtin, syslog]`: the socket
// paths come from the service's environment, its lines go to d.Mux in
// d.Format under the service's name. Inherit (children write to svinit's
// fds) means no prefix, so it becomes Plain for a built-in.
func NewService(name string, d builtin.Deps) (builtin.Service, error) {
	if d.Mux == nil {
		return nil, errors.New("syslog: no log mux")
	}
	cfg := ConfigFromEnv(d.Env)
	cfg.Sink, cfg.Format, cfg.Source = d.Mux, d.Format, name
	if cfg.Format == logmux.Inherit {
		cfg.Format = logmux.Plain
	}
	if d.Log != nil {
		cfg.Log = d.Log
	}
	return New(cfg)
}
