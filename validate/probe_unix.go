//go:build linux || darwin || freebsd

package validate

import "golang.org/x/sys/unix"

// diskFree is the space available to an unprivileged user on the file
// system holding path.
func diskFree(path string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// openFilesLimit is RLIMIT_NOFILE of this process; a server started by
// carbonguard inherits it.
func openFilesLimit() (soft, hard uint64, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	return uint64(rl.Cur), uint64(rl.Max), nil
}
