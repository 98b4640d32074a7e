package control

import "alpine-server/internal/logmux"

// svinit passes its *logmux.Logger to Serve.
var _ Logger = (*logmux.Logger)(nil)
