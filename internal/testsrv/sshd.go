package testsrv

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SSHD is an OpenSSH server for one test on 127.0.0.1, accepting one
// generated client key for the test's own user and serving SFTP
// (internal-sftp). The client side is pinned: a known_hosts file with the
// generated host key, StrictHostKeyChecking, no ~/.ssh/config.
type SSHD struct {
	Host       string // 127.0.0.1
	Port       int
	User       string // the user the client logs in as (the test's user)
	Key        string // the client's private key
	KnownHosts string
}

// StartSSHD generates a host key and a client key in a temporary directory
// and starts sshd in the foreground on a free port of 127.0.0.1.
func StartSSHD(t testing.TB) *SSHD {
	t.Helper()
	sshd := Need(t, "sshd", "openssh-server", "/usr/sbin")
	keygen := Need(t, "ssh-keygen", "openssh-client")
	Need(t, "ssh", "openssh-client")
	u, err := user.Current()
	if err != nil {
		t.Fatalf("testsrv: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation
		// directory, which systemd's unit creates at boot (RuntimeDirectory).
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("testsrv: sshd needs /run/sshd: %v", err)
		}
	}
	root := dir(t, "cg-sshd-")
	s := &SSHD{Host: "127.0.0.1", Port: FreePort(t), User: u.Username, Key: filepath.Join(root, "client_ed25519"),
		KnownHosts: filepath.Join(root, "known_hosts")}
	hostKey := filepath.Join(root, "host_ed25519")
	for _, k := range []string{hostKey, s.Key} {
		run(t, (*account)(nil).command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "carbonguard-test", "-f", k))
	}
	pub := func(k string) string {
		b, err := os.ReadFile(k + ".pub")
		if err != nil {
			t.Fatalf("testsrv: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	authorized := filepath.Join(root, "authorized_keys")
	write := func(path, text string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatalf("testsrv: %v", err)
		}
	}
	write(authorized, pub(s.Key)+"\n", 0o600)
	write(s.KnownHosts, fmt.Sprintf("[%s]:%d %s\n", s.Host, s.Port, pub(hostKey)), 0o644)
	conf := filepath.Join(root, "sshd_config")
	write(conf, strings.Join([]string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress " + s.Host,
		"HostKey " + hostKey,
		"PidFile " + filepath.Join(root, "sshd.pid"),
		"AuthorizedKeysFile " + authorized,
		"AuthenticationMethods publickey",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"StrictModes no",
		"UsePAM no",
		"AllowUsers " + s.User,
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
	}, "\n")+"\n", 0o644)
	d := start(t, "sshd", (*account)(nil).command(sshd, "-D", "-e", "-f", conf), filepath.Join(root, "sshd.log"))
	d.waitReady(t, 2*time.Minute, func(ctx context.Context) error {
		_, err := output(ctx, "ssh", append(s.clientArgs(), "true"), []string{"PATH=" + os.Getenv("PATH")})
		return err
	})
	return s
}

func (s *SSHD) clientArgs() []string {
	return []string{"-F", "/dev/null", "-i", s.Key, "-p", strconv.Itoa(s.Port), "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + s.KnownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		s.User + "@" + s.Host}
}

// SFTPCommand is the command restic's sftp.command option runs to reach this
// server's SFTP subsystem.
func (s *SSHD) SFTPCommand() string {
	return "ssh " + strings.Join(s.clientArgs(), " ") + " -s sftp"
}

// Repository is the restic repository string for a path on this server.
func (s *SSHD) Repository(path string) string {
	return fmt.Sprintf("sftp:%s@%s:%s", s.User, s.Host, path)
}
