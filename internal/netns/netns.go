package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// NS is a network namespace with only loopback up.
type NS struct {
	fd   int // /proc/thread-self/ns/net inside
	host int // the host's namespace, to come back to
}

// ErrNotPermitted is returned by New when the process may not create a
// network namespace (it is not root, or a container forbids unshare).
var ErrNotPermitted = errors.New("creating a network namespace is not permitted (it needs root: CAP_SYS_ADMIN)")

// New creates a network namespace with only the loopback interface, and
// brings it up.
func New() (*NS, error) {
	host, err := unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netns: the host's network namespace: %w", err)
	}
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, moved, err := unshareLoopback()
		if !moved {
			runtime.UnlockOSThread()
			ch <- result{-1, err}
			return
		}
		if back := unix.Setns(host, unix.CLONE_NEWNET); back != nil {
			// The thread stays in the new namespace: leave it locked, so
			// that it ends with this goroutine.
			if fd >= 0 {
				unix.Close(fd)
			}
			ch <- result{-1, fmt.Errorf("netns: returning to the host's network namespace: %w", back)}
			return
		}
		runtime.UnlockOSThread()
		ch <- result{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		unix.Close(host)
		return nil, r.err
	}
	return &NS{fd: r.fd, host: host}, nil
}

// unshareLoopback moves the calling (locked) thread into a new network
// namespace, brings lo up there and returns a handle on the namespace.
func unshareLoopback() (fd int, moved bool, err error) {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		if errors.Is(err, unix.EPERM) {
			return -1, false, ErrNotPermitted
		}
		return -1, false, fmt.Errorf("netns: unshare(CLONE_NEWNET): %w", err)
	}
	fd, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, true, fmt.Errorf("netns: opening the new namespace: %w", err)
	}
	if err := loopbackUp(); err != nil {
		unix.Close(fd)
		return -1, true, err
	}
	return fd, true, nil
}

// loopbackUp sets IFF_UP on lo in the calling thread's namespace; the
// kernel then gives it 127.0.0.1/8 and ::1.
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns: socket: %w", err)
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: reading lo's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("netns: bringing lo up: %w", err)
	}
	return nil
}

// Do runs fn on a thread inside the namespace and returns its error. fn
// must not start goroutines that need to be inside: they run elsewhere.
func (n *NS) Do(fn func() error) error {
	if n == nil || n.fd < 0 {
		return errors.New("netns: the namespace is closed")
	}
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("netns: entering the namespace: %w", err)
			return
		}
		err := fn()
		if back := unix.Setns(n.host, unix.CLONE_NEWNET); back != nil {
			// Stay locked: the runtime ends the thread with this goroutine.
			ch <- errors.Join(err, fmt.Errorf("netns: returning to the host's network namespace: %w", back))
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}

// Start starts cmd inside the namespace: the child is forked from a thread
// that is inside, so it and all its descendants live there.
func (n *NS) Start(cmd *exec.Cmd) error {
	return n.Do(cmd.Start)
}

// DialContext connects from inside the namespace. The socket is made on a
// thread inside and keeps that namespace; the connection can then be used
// from any goroutine. Give literal addresses: a host name is resolved by
// the resolver, outside.
func (n *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.Do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen opens a listener inside the namespace.
func (n *NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// Interfaces lists the network interfaces inside the namespace.
func (n *NS) Interfaces() ([]net.Interface, error) {
	var out []net.Interface
	err := n.Do(func() error {
		var err error
		out, err = net.Interfaces()
		return err
	})
	return out, err
}

// Path is a path naming the namespace for other tools (nsenter --net=...)
// while it is open: /proc/<carbonguard's pid>/fd/<handle>.
func (n *NS) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.fd) }

// Inode identifies the namespace (as ls -l /proc/<pid>/ns/net shows it).
func (n *NS) Inode() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(n.fd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// Close releases the handle. The namespace itself goes when the last
// process in it has exited.
func (n *NS) Close() error {
	if n == nil || n.fd < 0 {
		return nil
	}
	err := unix.Close(n.fd)
	unix.Close(n.host)
	n.fd, n.host = -1, -1
	return err
}

// Supported reports whether New can work here, and why not: it needs
// root (CAP_SYS_ADMIN in the initial user namespace).
func Supported() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "carbonguard is not running as root, and creating a network namespace needs root"
	}
	return true, ""
}

// InodeOf is the network namespace of a running process, to tell whether
// two processes share one.
func InodeOf(pid int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
