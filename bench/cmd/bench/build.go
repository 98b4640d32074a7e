package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// imageSpec is how a comparison image (seed, s6) is built: FROM the shared
// offline base, plus the files of some Debian packages, plus the common
// service folders in bench/stacks/rootfs.
type imageSpec struct {
	Stack      string
	Packages   []string
	Entrypoint string // JSON array
}

var imageSpecs = []imageSpec{
	{Stack: seedName, Packages: []string{"dumb-init", "runit"},
		Entrypoint: `["/usr/bin/dumb-init", "-c", "--", "/usr/bin/runsvdir", "/etc/service"]`},
	{Stack: s6Name, Packages: []string{"s6", "libs6-2.11", "libskarnet2.13", "libexecline2.9"},
		Entrypoint: `["/usr/bin/s6-svscan", "/etc/service"]`},
}

// packageDirs are the parts of a package copied into an image: programs
// and libraries; not /etc (runit's stage scripts, sample services), docs
// or init-system glue.
var packageDirs = []string{"sbin", "usr/bin", "usr/sbin", "usr/lib"}

// buildHelper compiles the in-container helper as a static binary.
func buildHelper(ctx context.Context, cfg config) (string, error) {
	out := filepath.Join(cfg.Work, "benchhelper")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./bench/cmd/benchhelper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Dir = cfg.Root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build benchhelper: %w: %s", err, b)
	}
	return out, nil
}

// fetchDebs downloads the packages not already in work/debs and returns
// package name → .deb path.
func fetchDebs(ctx context.Context, cfg config, pkgs []string) (map[string]string, error) {
	dir := filepath.Join(cfg.Work, "debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range pkgs {
		if debPath(dir, p) == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		args := append([]string{"-qq", "-o", "APT::Sandbox::User=root", "download"}, missing...)
		if run(ctx, dir, "apt-get", args...) != nil {
			// Stale or missing package lists (a fresh machine): refresh once.
			logf("apt-get download failed; running apt-get update once")
			if err := run(ctx, "", "apt-get", "-qq", "update"); err != nil {
				return nil, err
			}
			if err := run(ctx, dir, "apt-get", args...); err != nil {
				return nil, err
			}
		}
	}
	debs := map[string]string{}
	for _, p := range pkgs {
		if debs[p] = debPath(dir, p); debs[p] == "" {
			return nil, fmt.Errorf("apt-get download %s: no .deb in %s", p, dir)
		}
	}
	return debs, nil
}

func debPath(dir, pkg string) string {
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	sort.Strings(m)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

// debVersion reads a .deb's Version field.
func debVersion(ctx context.Context, deb string) string {
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", deb, "Version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// buildStackImage assembles a build context in work/ctx/STACK and runs
// docker build on it.
func buildStackImage(ctx context.Context, cfg config, spec imageSpec, tag string, debs map[string]string) error {
	dir := filepath.Join(cfg.Work, "ctx", spec.Stack)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	rootfs := filepath.Join(dir, "rootfs")
	unpacked := filepath.Join(dir, "unpacked")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return err
	}
	for _, p := range spec.Packages {
		if err := run(ctx, "", "dpkg", "-x", debs[p], unpacked); err != nil {
			return err
		}
	}
	for _, d := range packageDirs {
		if _, err := os.Stat(filepath.Join(unpacked, d)); err != nil {
			continue
		}
		if err := run(ctx, unpacked, "cp", "-a", "--parents", d, rootfs); err != nil {
			return fmt.Errorf("copy %s of %s: %w", d, spec.Stack, err)
		}
	}
	_ = os.RemoveAll(filepath.Join(rootfs, "usr/lib/systemd"))
	if err := run(ctx, "", "cp", "-a", filepath.Join(cfg.Root, "bench/stacks/rootfs")+"/.", rootfs); err != nil {
		return err
	}
	dockerfile := fmt.Sprintf("FROM %s\nCOPY rootfs/ /\nENTRYPOINT %s\n", cfg.Base, spec.Entrypoint)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(unpacked)
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker build %s: %w: %s", tag, err, b)
	}
	return nil
}

// run runs a command in dir (from cwd when ""), for build steps.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, b)
	}
	return nil
}
