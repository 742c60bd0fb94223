// Package netns gives a process tree its own Linux network namespace with
// only the loopback interface up, and runs what must happen inside it
// (starting a command, dialling a health endpoint) from carbonguard's own
// process, without util-linux.
//
// A network namespace belongs to a thread, not to a process: New locks a
// goroutine to its OS thread, unshares the thread's network namespace
// (CLONE_NEWNET, root only), brings lo up with an ioctl on a socket made
// there, keeps a file descriptor on /proc/thread-self/ns/net as the handle,
// and moves the thread back to the host's namespace. Every later action
// runs the same way: a goroutine locked to its thread setns()es into the
// handle, acts, and setns()es back. What the thread creates inside stays
// inside: a socket keeps the namespace it was made in whichever thread uses
// it later, and a child forked from the thread (os/exec forks from the
// calling thread) starts there and takes its descendants with it. Should a
// thread fail to return to the host's namespace, its goroutine exits still
// locked, and the Go runtime then ends the thread instead of reusing it.
//
// The namespace lives as long as the handle is open or a process is in it.
package netns
