package privdrop

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

var fixture = DB{Passwd: "testdata/passwd", Group: "testdata/group"}

func TestParse(t *testing.T) {
	callerGid := uint32(os.Getgid())
	tests := []struct {
		spec    string
		want    *Credential
		wantErr string
	}{
		{spec: "alice", want: &Credential{User: "alice", Uid: 1000, Gid: 1000, Groups: []uint32{1000, 10, 29}, Home: "/home/alice"}},
		{spec: "alice:", want: &Credential{User: "alice", Uid: 1000, Gid: 1000, Groups: []uint32{1000, 10, 29}, Home: "/home/alice"}},
		{spec: "1000", want: &Credential{User: "alice", Uid: 1000, Gid: 1000, Groups: []uint32{1000, 10, 29}, Home: "/home/alice"}},
		{spec: "bob", want: &Credential{User: "bob", Uid: 1001, Gid: 1001, Groups: []uint32{1001, 29, 50}, Home: "/home/bob"}},
		{spec: "carol", want: &Credential{User: "carol", Uid: 1002, Gid: 1002, Groups: []uint32{1002}, Home: "/home/carol"}},
		{spec: "alice:staff", want: &Credential{User: "alice", Uid: 1000, Gid: 50, Groups: []uint32{50}, Home: "/home/alice"}},
		{spec: "alice:77", want: &Credential{User: "alice", Uid: 1000, Gid: 77, Groups: []uint32{77}, Home: "/home/alice"}},
		{spec: "alice:4242", want: &Credential{User: "alice", Uid: 1000, Gid: 4242, Groups: []uint32{4242}, Home: "/home/alice"}},
		{spec: "nobody:nogroup", want: &Credential{User: "nobody", Uid: 65534, Gid: 65534, Groups: []uint32{65534}, Home: "/nonexistent"}},
		// A uid without a passwd entry keeps the caller's gid, HOME is "/".
		{spec: "5555", want: &Credential{User: "5555", Uid: 5555, Gid: callerGid, Groups: []uint32{callerGid}, Home: "/"}},
		{spec: "5555:5556", want: &Credential{User: "5555", Uid: 5555, Gid: 5556, Groups: []uint32{5556}, Home: "/"}},
		// A number is always a uid, even when a user is named like it.
		{spec: "1234", want: &Credential{User: "1234", Uid: 1234, Gid: callerGid, Groups: []uint32{callerGid}, Home: "/"}},
		{spec: "mallory", wantErr: "unknown user mallory"},
		{spec: "alice:nosuch", wantErr: "unknown group nosuch"},
		{spec: "alice:badgid", wantErr: "unknown group badgid"},
		{spec: "bad", wantErr: "unknown user bad"},
		{spec: "short", wantErr: "unknown user short"},
		{spec: "big", wantErr: "unknown user big"},
		{spec: "-1", wantErr: "unknown user -1"},
		{spec: "99999999999", wantErr: "user id 99999999999 out of range"},
		{spec: "2147483648", wantErr: "user id 2147483648 out of range"},
		{spec: "alice:4294967295", wantErr: "group id 4294967295 out of range"},
		{spec: "alice:a:b", wantErr: "unknown group a:b"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := fixture.Parse(tt.spec)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

// An empty user is the caller, as in su-exec and gosu.
func TestParseEmptyUserIsCaller(t *testing.T) {
	got, err := fixture.Parse(":77")
	if err != nil {
		t.Fatal(err)
	}
	if got.Uid != uint32(os.Getuid()) || got.Gid != 77 || !reflect.DeepEqual(got.Groups, []uint32{77}) {
		t.Errorf("Parse(:77) = %+v, want uid %d, gid 77, groups [77]", got, os.Getuid())
	}
}

func TestMissingFilesReadAsEmpty(t *testing.T) {
	db := DB{Passwd: "testdata/no-such-passwd", Group: "testdata/no-such-group"}
	got, err := db.Parse("0:0")
	if err != nil {
		t.Fatal(err)
	}
	want := &Credential{User: "0", Uid: 0, Gid: 0, Groups: []uint32{0}, Home: "/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := db.Parse("root"); err == nil || err.Error() != "unknown user root" {
		t.Errorf("Parse(root) error = %v, want unknown user root", err)
	}
}

func TestUnreadableFileIsAnError(t *testing.T) {
	dir := t.TempDir() // a directory: open works, read fails with EISDIR
	for _, db := range []DB{{Passwd: dir, Group: "testdata/group"}, {Passwd: "testdata/passwd", Group: dir}} {
		_, err := db.Parse("alice")
		if err == nil || !strings.Contains(err.Error(), "read "+dir) {
			t.Errorf("Parse with %+v: error = %v, want one naming %s", db, err, dir)
		}
	}
}

func TestLongLineIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(path, []byte(strings.Repeat("x", 2<<20)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (DB{Passwd: path}).Parse("0"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %v, want one naming %s", err, path)
	}
}

func TestCredentialSys(t *testing.T) {
	c := &Credential{Uid: 1, Gid: 2, Groups: []uint32{2, 3}}
	got := c.Sys()
	want := &syscall.Credential{Uid: 1, Gid: 2, Groups: []uint32{2, 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sys() = %+v, want %+v", got, want)
	}
	got.Groups[0] = 99
	if c.Groups[0] != 2 {
		t.Error("Sys() shares the Groups slice with the credential")
	}
}

func TestForChild(t *testing.T) {
	c := &Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: []uint32{uint32(os.Getgid())}}
	got := c.ForChild()
	if os.Getuid() == 0 && (got == nil || got.Uid != c.Uid || len(got.Groups) != 1) {
		t.Errorf("as root: ForChild() = %+v, want the full credential (root may always switch)", got)
	}
	if os.Getuid() != 0 && got != nil {
		t.Errorf("not root, already c: ForChild() = %+v, want nil (setgroups would fail)", got)
	}
}
