package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strconv"
)

// measureSizes records each image's size and svinit's binary size.
func (e *env) measureSizes(ctx context.Context) error {
	for _, st := range e.stacks {
		out, err := docker(ctx, nil, "image", "inspect", "-f", "{{.Size}}", st.Image)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(out, 10, 64)
		if err != nil {
			return fmt.Errorf("image size of %s: %q: %w", st.Image, out, err)
		}
		e.res.add("image_size", st.Name, float64(n)/mb)
		if st.Name == svinitName {
			size, err := fileSizeInImage(ctx, st.Image, "/sbin/svinit")
			if err != nil {
				return err
			}
			e.res.add("binary_size", st.Name, float64(size)/mb)
		}
	}
	return nil
}

// fileSizeInImage copies one file out of an image (without running it) and
// returns its size.
func fileSizeInImage(ctx context.Context, image, path string) (int64, error) {
	id, err := docker(ctx, nil, "create", "--label", "alpine-server.bench=1", image)
	if err != nil {
		return 0, err
	}
	defer func() { _, _ = docker(ctx, nil, "rm", "-f", id) }()
	out, err := docker(ctx, nil, "cp", id+":"+path, "-")
	if err != nil {
		return 0, err
	}
	h, err := tar.NewReader(bytes.NewReader([]byte(out))).Next()
	if err != nil {
		return 0, fmt.Errorf("read %s from %s: %w", path, image, err)
	}
	return h.Size, nil
}
