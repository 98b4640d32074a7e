// Package regfile opens the files svinit is configured by — manifests,
// run and finish programs, crontabs — under one rule (SPEC §4): each must
// be a regular file after following symlinks, and nothing ever blocks on
// opening one. A FIFO named manifest.yml would otherwise hold open(2)
// until a writer came, and PID 1 with it.
//
// Errors carry no path: callers name the file in their own format
// ("FILE: not a regular file (a FIFO)").
package regfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Stat returns the file info of path after following symlinks, or an
// error saying what path is instead of a regular file: "not a regular
// file (a FIFO)", "dangling symlink to TARGET", "symlink loop". It never
// opens path. A path that does not exist at all gives an error matching
// fs.ErrNotExist; a dangling symlink does not, since something is there.
func Stat(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, describe(path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Mode: fi.Mode()}
	}
	return fi, nil
}

// Open opens the regular file path for reading. It checks before opening
// and, since path may change in between, opens with O_NONBLOCK (a FIFO
// then opens at once instead of waiting for a writer; regular files
// ignore the flag) and checks the opened file again.
func Open(path string) (*os.File, fs.FileInfo, error) {
	if _, err := Stat(path); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, describe(path, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &NotRegularError{Mode: fi.Mode()}
	}
	if err != nil {
		f.Close()
		return nil, nil, bare(err)
	}
	return f, fi, nil
}

// Read returns the contents of the regular file path, refusing more than
// max bytes.
func Read(path string, max int64) ([]byte, error) {
	f, _, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, bare(err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return data, nil
}

// ReadDir lists the folder path (after following symlinks), sorted by
// name. A path that is not a folder is "not a folder (a FIFO)"; a missing
// path gives an error matching fs.ErrNotExist, a dangling symlink does not.
func ReadDir(path string) ([]os.DirEntry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, describe(path, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("not a folder (%s)", Kind(fi.Mode()))
	}
	entries, err := os.ReadDir(path) // O_DIRECTORY: never opens a FIFO
	if err != nil {
		return nil, fmt.Errorf("cannot read it: %w", bare(err))
	}
	return entries, nil
}

// NotRegularError is a path that exists but is a FIFO, folder, socket or
// device.
type NotRegularError struct {
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("not a regular file (%s)", Kind(e.Mode))
}

// Kind names a file type for messages: "a FIFO", "a folder"...
func Kind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a folder"
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSymlink != 0:
		return "a symlink"
	default:
		return "a special file (" + t.String() + ")"
	}
}

// describe turns a failed stat or open of path into the clearest error:
// a dangling symlink is named with its target, ELOOP is a symlink loop.
func describe(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ELOOP):
		return errors.New("symlink loop")
	case errors.Is(err, fs.ErrNotExist):
		if target, lerr := os.Readlink(path); lerr == nil {
			return fmt.Errorf("dangling symlink to %s", target)
		}
	}
	return bare(err)
}

// bare drops the path of a *fs.PathError: callers name the file.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
