package wrapper

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// runAs is who the server will run as.
type runAs struct {
	name string
	uid  int
	cred *syscall.Credential // nil: as carbonguard itself
	home string              // the target user's home, for HOME
}

// resolveUser decides who the server runs as and refuses root unless
// allowed: a WSO2 server run as root turns any remote code execution in it
// (a deployed artefact, a vulnerable component) into root on the host.
func resolveUser(o *Options) (runAs, error) {
	euid := os.Geteuid()
	if o.Euid != nil {
		euid = o.Euid()
	}
	if o.RunAsUser == "" {
		name := "uid " + strconv.Itoa(euid)
		if u, err := user.LookupId(strconv.Itoa(euid)); err == nil {
			name = u.Username
		}
		if euid == 0 && !o.AllowRoot {
			return runAs{}, &RootError{User: name}
		}
		return runAs{name: name, uid: euid}, nil
	}
	u, err := user.Lookup(o.RunAsUser)
	if err != nil {
		// A numeric id is accepted too, as in systemd's User=.
		if _, nerr := strconv.Atoi(o.RunAsUser); nerr == nil {
			u, err = user.LookupId(o.RunAsUser)
		}
		if err != nil {
			return runAs{}, fmt.Errorf("run-as user %q: %w; create the user or fix [start] user in carbonguard.toml", o.RunAsUser, err)
		}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return runAs{}, fmt.Errorf("run-as user %q: non-numeric uid %q or gid %q", o.RunAsUser, u.Uid, u.Gid)
	}
	r := runAs{name: u.Username, uid: uid, home: u.HomeDir}
	if uid == 0 && !o.AllowRoot {
		return runAs{}, &RootError{User: u.Username}
	}
	if uid == euid {
		return r, nil
	}
	if euid != 0 {
		return runAs{}, fmt.Errorf("cannot run the server as %s (uid %d): carbonguard runs as uid %d and only root can switch users; run carbonguard as %s, or drop [start] user", u.Username, uid, euid, u.Username)
	}
	var groups []uint32
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				groups = append(groups, uint32(n))
			}
		}
	}
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}
	return r, nil
}
