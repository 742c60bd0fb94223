package clone

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/carbonguard/carbonguard/wrapper"
)

// checkReachable refuses, before anything is launched, a copy that the
// server's user (Options.RunAsUser, when carbonguard runs as root and
// switches to it) could not reach: a directory above it that the user may
// not search, such as a root-owned state directory of mode 0700.
func checkReachable(home string, so wrapper.Options) error {
	if so.RunAsUser == "" || os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(so.RunAsUser)
	if err != nil {
		if _, nerr := strconv.Atoi(so.RunAsUser); nerr == nil {
			u, err = user.LookupId(so.RunAsUser)
		}
		if err != nil {
			return nil // the wrapper reports an unknown user
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil || uid == 0 {
		return nil
	}
	gids := map[uint32]bool{}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				gids[uint32(n)] = true
			}
		}
	}
	if n, err := strconv.Atoi(u.Gid); err == nil {
		gids[uint32(n)] = true
	}
	for dir := home; ; dir = filepath.Dir(dir) {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err != nil {
			return err
		}
		mode := st.Mode & 0o777
		ok := mode&0o001 != 0 ||
			st.Uid == uint32(uid) && mode&0o100 != 0 ||
			gids[st.Gid] && mode&0o010 != 0
		if !ok {
			return &RefusedError{Why: fmt.Sprintf("the server's user %s cannot reach the copy at %s: %s (mode %04o, owner uid %d, group gid %d) does not let it in",
				u.Username, home, dir, mode, st.Uid, st.Gid)}
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}
