package boot

import (
	"errors"
	"os"

	"alpine-server/internal/envsnap"
)

// snapshotEnv captures the environment (SPEC §7), expands NAME_FILE
// secrets, and writes the env files when svinit owns the machine's /etc:
// as PID 1, or when SVINIT_ENV_FILE was set explicitly.
func (s *svinit) snapshotEnv() error {
	env := envsnap.Capture(os.Environ())
	// A secret that cannot be read must not stop the boot: each one is a
	// warning. Other *_FILE variables (SSL_CERT_FILE) are left alone.
	for _, e := range unjoin(env.ExpandSecrets(s.set.Secrets)) {
		s.log.Warnf("environment: %v", e)
	}
	s.env = env
	s.writeEnv()
	return nil
}

// writeEnv writes the env files. A read-only root is said once, at info:
// the snapshot stays in memory and still reaches every child.
func (s *svinit) writeEnv() {
	if !s.writesEnvFiles() {
		return
	}
	s.envMu.Lock()
	profile := s.set.ProfileFile
	if !s.pid1 && !s.set.ProfileFileSet {
		profile = "" // only explicitly named files outside a container
	}
	err := s.env.WriteFiles(s.set.EnvFile, profile, s.set.EnvMode)
	s.envMu.Unlock()
	switch {
	case errors.Is(err, envsnap.ErrReadOnly):
		s.log.Infof("root filesystem is read-only: environment kept in memory (%v)", err)
		s.envReadOnly = true // don't try again, don't re-read
	case err != nil:
		s.log.Warnf("%v; environment kept in memory", err)
		s.envReadOnly = true
	}
}

func (s *svinit) writesEnvFiles() bool {
	return !s.envReadOnly && (s.pid1 || s.set.EnvFileSet)
}

// rereadEnv merges $SVINIT_ENV_FILE back into the snapshot after a startup
// script, so a script can export variables to everything after it.
func (s *svinit) rereadEnv() {
	if !s.writesEnvFiles() {
		return
	}
	vars, err := envsnap.ReadFile(s.set.EnvFile)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		s.log.Warnf("re-read environment: %v; keeping the previous environment", err)
		return
	}
	s.envMu.Lock()
	s.env.Merge(vars)
	s.envMu.Unlock()
}

// environ is the snapshot environment for a child.
func (s *svinit) environ() []string {
	s.envMu.Lock()
	defer s.envMu.Unlock()
	return s.env.Environ()
}

// lookupEnv reads one snapshot variable, for ${VAR} in manifests.
func (s *svinit) lookupEnv(k string) (string, bool) {
	s.envMu.Lock()
	defer s.envMu.Unlock()
	return s.env.Get(k)
}
