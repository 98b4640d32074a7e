package privdrop

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Credential is who a process runs as after the privilege drop.
type Credential struct {
	User   string   // passwd name, or the number as given when passwd has no entry
	Uid    uint32   // user id
	Gid    uint32   // primary group id
	Groups []uint32 // supplementary groups, for setgroups(2)
	Home   string   // HOME for the process
}

// Sys returns the credential for syscall.SysProcAttr, so the child does
// setgroups, setgid and setuid in that order before exec.
func (c *Credential) Sys() *syscall.Credential {
	return &syscall.Credential{
		Uid:         c.Uid,
		Gid:         c.Gid,
		Groups:      slices.Clone(c.Groups),
		NoSetGroups: false,
	}
}

// ForChild is the credential to put in a child's SysProcAttr to run it as
// c: nil when the caller is not root and already runs as c, where
// setgroups would fail with EPERM for nothing (docker run --user).
func (c *Credential) ForChild() *syscall.Credential {
	if os.Getuid() != 0 && c.Uid == uint32(os.Getuid()) && c.Gid == uint32(os.Getgid()) {
		return nil
	}
	return c.Sys()
}

// DB names the account files to read. The zero value reads /etc/passwd and
// /etc/group; tests point it at fixtures. A missing file reads as empty.
type DB struct{ Passwd, Group string }

func (db DB) passwdPath() string {
	if db.Passwd == "" {
		return "/etc/passwd"
	}
	return db.Passwd
}

func (db DB) groupPath() string {
	if db.Group == "" {
		return "/etc/group"
	}
	return db.Group
}

// Parse resolves a "USER[:GROUP]" spec; an empty GROUP ("user:") is the
// same as none.
func (db DB) Parse(spec string) (*Credential, error) {
	user, group, _ := strings.Cut(spec, ":")
	return db.Lookup(user, group)
}

// Lookup resolves user and group with the rules of su-exec and gosu:
//
//   - user is a name or a number; a number is always a uid, even when a user
//     is named like it. A number without a passwd entry is allowed: the
//     caller's gid stays the primary group (both su-exec and gosu do this;
//     svinit runs as root, so that is gid 0 — give a group) and HOME is "/".
//     An empty user means the caller's uid.
//   - group "" gives the user's primary gid plus every group in /etc/group
//     that lists the user by name; a group (name or number) replaces both,
//     so the groups are exactly [group].
//
// Errors read "unknown user NAME" and "unknown group NAME".
func (db DB) Lookup(user, group string) (*Credential, error) {
	lines, err := readLines(db.passwdPath())
	if err != nil {
		return nil, err
	}
	c, name, err := findUser(parsePasswd(lines), user)
	if err != nil {
		return nil, err
	}
	if lines, err = readLines(db.groupPath()); err != nil {
		return nil, err
	}
	groups := parseGroup(lines)
	if group == "" {
		c.Groups = memberOf(groups, name, c.Gid)
		return c, nil
	}
	if c.Gid, err = findGroup(groups, group); err != nil {
		return nil, err
	}
	c.Groups = []uint32{c.Gid}
	return c, nil
}

// findUser resolves a user spec. name is the matched passwd name, used to
// find supplementary groups; it is "" for a uid with no passwd entry.
func findUser(users []passwdEntry, spec string) (c *Credential, name string, err error) {
	if spec == "" {
		spec = strconv.Itoa(os.Getuid())
	}
	uid, numeric := parseID(spec)
	if !numeric && isDigits(spec) {
		return nil, "", fmt.Errorf("user id %s out of range", spec)
	}
	for _, u := range users {
		if (numeric && u.Uid == uid) || (!numeric && u.Name == spec) {
			return &Credential{User: u.Name, Uid: u.Uid, Gid: u.Gid, Home: u.Home}, u.Name, nil
		}
	}
	if !numeric {
		return nil, "", fmt.Errorf("unknown user %s", spec)
	}
	return &Credential{User: spec, Uid: uid, Gid: uint32(os.Getgid()), Home: "/"}, "", nil
}

// findGroup resolves a group spec: a number is always a gid, found in
// /etc/group or not; a name must be there.
func findGroup(groups []groupEntry, spec string) (uint32, error) {
	if gid, ok := parseID(spec); ok {
		return gid, nil
	}
	if isDigits(spec) {
		return 0, fmt.Errorf("group id %s out of range", spec)
	}
	for _, g := range groups {
		if g.Name == spec {
			return g.Gid, nil
		}
	}
	return 0, fmt.Errorf("unknown group %s", spec)
}

// memberOf returns primary followed by every gid whose group lists name,
// without duplicates, as getgrouplist(3) does.
func memberOf(groups []groupEntry, name string, primary uint32) []uint32 {
	out := []uint32{primary}
	if name == "" {
		return out
	}
	for _, g := range groups {
		if slices.Contains(g.Members, name) && !slices.Contains(out, g.Gid) {
			out = append(out, g.Gid)
		}
	}
	return out
}

func isDigits(s string) bool {
	return s != "" && strings.TrimLeft(s, "0123456789") == ""
}
