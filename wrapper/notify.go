package wrapper

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
)

// Notifier speaks the systemd notification protocol (sd_notify(3)) without
// cgo: one datagram per message to the unix socket named by NOTIFY_SOCKET. A
// name starting with "@" is an abstract socket. A nil *Notifier, or one made
// from an empty socket name, does nothing, so callers never need to ask
// whether they run under systemd.
type Notifier struct {
	mu     sync.Mutex
	addr   *net.UnixAddr
	conn   *net.UnixConn
	ready  bool
	status string
}

// NewNotifier returns a notifier for the socket named by NOTIFY_SOCKET
// (pass os.Getenv("NOTIFY_SOCKET")). It returns nil for "" (not under
// systemd, or a unit without Type=notify). Only "/path" and "@abstract"
// names are valid; systemd also accepts vsock addresses, which this
// implementation refuses with an error rather than ignoring silently.
func NewNotifier(socket string) (*Notifier, error) {
	switch {
	case socket == "":
		return nil, nil
	case strings.HasPrefix(socket, "/"):
		return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
	case strings.HasPrefix(socket, "@"):
		// Go spells the abstract namespace with a leading "@" too and
		// turns it into the leading NUL byte the kernel expects.
		return &Notifier{addr: &net.UnixAddr{Name: socket, Net: "unixgram"}}, nil
	default:
		return nil, fmt.Errorf("NOTIFY_SOCKET=%q: only a socket path (/…) or an abstract name (@…) is supported", socket)
	}
}

// Send writes one notification, e.g. "READY=1\nSTATUS=up". Several
// assignments may share one datagram, separated by newlines.
func (n *Notifier) Send(state string) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sendLocked(state)
}

func (n *Notifier) sendLocked(state string) error {
	if n.conn == nil {
		c, err := net.DialUnix("unixgram", nil, n.addr)
		if err != nil {
			return fmt.Errorf("systemd notify socket %s: %w", n.addr.Name, err)
		}
		n.conn = c
	}
	if _, err := n.conn.Write([]byte(state)); err != nil {
		// A restarted systemd creates the socket anew: reconnect once.
		_ = n.conn.Close()
		n.conn = nil
		c, derr := net.DialUnix("unixgram", nil, n.addr)
		if derr != nil {
			return fmt.Errorf("systemd notify socket %s: %w", n.addr.Name, err)
		}
		n.conn = c
		if _, err := n.conn.Write([]byte(state)); err != nil {
			return fmt.Errorf("systemd notify socket %s: %w", n.addr.Name, err)
		}
	}
	return nil
}

// Status sends STATUS=<s> (one line shown by systemctl status) unless it is
// the same as the last one sent.
func (n *Notifier) Status(s string) error {
	if n == nil {
		return nil
	}
	s = strings.ReplaceAll(s, "\n", " ")
	n.mu.Lock()
	defer n.mu.Unlock()
	if s == n.status {
		return nil
	}
	n.status = s
	return n.sendLocked("STATUS=" + s)
}

// Ready sends READY=1 once, with a final status line and, when mainPID is
// not 0, MAINPID= so that systemd follows that process as the service's
// main process.
func (n *Notifier) Ready(status string, mainPID int) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ready {
		return nil
	}
	msg := "READY=1"
	if status != "" {
		msg += "\nSTATUS=" + strings.ReplaceAll(status, "\n", " ")
		n.status = status
	}
	if mainPID > 0 {
		msg += "\nMAINPID=" + strconv.Itoa(mainPID)
	}
	if err := n.sendLocked(msg); err != nil {
		return err
	}
	n.ready = true
	return nil
}

// Stopping sends STOPPING=1 with a status line.
func (n *Notifier) Stopping(status string) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	msg := "STOPPING=1"
	if status != "" {
		msg += "\nSTATUS=" + strings.ReplaceAll(status, "\n", " ")
		n.status = status
	}
	return n.sendLocked(msg)
}

// Close releases the socket.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}
