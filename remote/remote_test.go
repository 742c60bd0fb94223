package remote

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testsrv"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// newRepo initialises a restic repository at repository (a local path when
// opts is empty) with a password file, and returns it opened.
func newRepo(t *testing.T, repository string, opts ...string) *Repo {
	t.Helper()
	testsrv.Need(t, "restic", "restic")
	pw := filepath.Join(t.TempDir(), "restic-password")
	require.NoError(t, os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600))
	env := append(os.Environ(), "RESTIC_CACHE_DIR="+t.TempDir(), "WSO2_PASSWORD=u2-secret", "RESTIC_PASSWORD=ignored-because-file")
	r, err := Open(Config{Repository: repository, PasswordFile: pw, Options: opts, Env: env, Log: zerolog.Nop()})
	require.NoError(t, err)
	require.NoError(t, r.Init(ctx(t)))
	return r
}

// stream is a deterministic pseudo-random byte stream standing in for a
// snapshot's tar.
func stream(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func meta(id string) Meta {
	return Meta{Pack: "wso2am-4.2.0", Home: "/opt/wso2am-4.2.0", ID: id, Reason: "pre-update", Level: "12", Product: "apim 4.2.0"}
}

func push(t *testing.T, r *Repo, m Meta, data []byte) PushReport {
	t.Helper()
	rep, err := r.Push(ctx(t), m, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	})
	require.NoError(t, err)
	return rep
}

func pull(t *testing.T, r *Repo, pack, id string) ([]byte, error) {
	t.Helper()
	s, err := r.Find(ctx(t), pack, id)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = r.Pull(ctx(t), s, func(rd io.Reader) error {
		_, err := io.Copy(&buf, rd)
		return err
	})
	return buf.Bytes(), err
}

// roundTrip pushes, lists, pulls, re-pushes and pushes a changed stream.
func roundTrip(t *testing.T, r *Repo) {
	data := stream(1, 16<<20)
	rep := push(t, r, meta("20261203T120000Z-aaaa"), data)
	assert.False(t, rep.AlreadyThere)
	assert.Equal(t, int64(len(data)), rep.Bytes)
	assert.Greater(t, rep.DataAdded, int64(len(data))*9/10, "random data does not deduplicate")

	list, err := r.List(ctx(t), "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	got := list[0]
	assert.True(t, got.Complete)
	assert.Equal(t, meta("20261203T120000Z-aaaa"), got.Meta)
	assert.Equal(t, rep.SHA256, got.SHA256)
	assert.Equal(t, rep.ResticID, got.ResticID)
	assert.Equal(t, "/wso2am-4.2.0_20261203T120000Z-aaaa.tar", got.File)

	back, err := pull(t, r, "", "20261203T120000Z-aaaa")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, back), "pulled stream differs")

	// The same snapshot again: nothing is sent.
	again := push(t, r, meta("20261203T120000Z-aaaa"), data)
	assert.True(t, again.AlreadyThere)

	// An update-sized change in the middle: restic's chunking stores little.
	changed := bytes.Clone(data)
	copy(changed[8<<20:], stream(2, 64<<10))
	rep2 := push(t, r, meta("20261203T130000Z-bbbb"), changed)
	assert.Less(t, rep2.DataAdded, int64(8<<20), "a 64 KiB change must not store the whole stream again")
	back, err = pull(t, r, "wso2am-4.2.0", "20261203T130000Z-bbbb")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(changed, back))
}

func TestLocalRepository(t *testing.T) {
	t.Parallel()
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	roundTrip(t, r)
	require.NoError(t, r.Check(ctx(t), true))
}

func TestSFTPRepository(t *testing.T) {
	t.Parallel()
	sshd := testsrv.StartSSHD(t)
	r := newRepo(t, sshd.Repository(filepath.Join(t.TempDir(), "repo")), "sftp.command="+sshd.SFTPCommand())
	roundTrip(t, r)
}

func TestFailedWriteSavesNothing(t *testing.T) {
	t.Parallel()
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	boom := errors.New("disk read error")
	_, err := r.Push(ctx(t), meta("20261203T120000Z-cccc"), func(w io.Writer) error {
		if _, err := w.Write(stream(3, 4<<20)); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	list, err := r.List(ctx(t), "")
	require.NoError(t, err)
	assert.Empty(t, list, "restic must not save a stream whose writer failed")
	raw, err := r.run(ctx(t), "snapshots", "--json")
	require.NoError(t, err)
	assert.Equal(t, "[]", strings.TrimSpace(string(raw)), "no restic snapshot at all")
}

// TestInterruptedPush: a restic snapshot without the completion tags (a push
// killed between restic's save and the tags) is listed as incomplete, cannot
// be pulled, and the next push completes and forgets it.
func TestInterruptedPush(t *testing.T) {
	t.Parallel()
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	m := meta("20261203T120000Z-dddd")
	data := stream(4, 1<<20)
	args := []string{"backup", "--stdin", "--stdin-filename", m.fileName()}
	for _, tag := range m.tags() {
		args = append(args, "--tag", tag)
	}
	cmd := exec.Command(r.bin, args...)
	cmd.Env = r.env
	cmd.Stdin = bytes.NewReader(data[:len(data)/2])
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))

	list, err := r.List(ctx(t), "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.False(t, list[0].Complete)
	_, err = pull(t, r, "", m.ID)
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.True(t, nf.Incomplete)

	rep := push(t, r, m, data)
	assert.False(t, rep.AlreadyThere)
	list, err = r.List(ctx(t), "")
	require.NoError(t, err)
	require.Len(t, list, 1, "the interrupted push is forgotten")
	assert.True(t, list[0].Complete)
	back, err := pull(t, r, "", m.ID)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, back))
}

func TestPullDetectsMismatch(t *testing.T) {
	t.Parallel()
	r := newRepo(t, filepath.Join(t.TempDir(), "repo"))
	m := meta("20261203T120000Z-eeee")
	rep := push(t, r, m, stream(5, 1<<20))
	_, err := r.run(ctx(t), "tag", "--remove", tagSHA+rep.SHA256, "--add", tagSHA+strings.Repeat("0", 64), rep.ResticID)
	require.NoError(t, err)
	_, err = pull(t, r, "", m.ID)
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), "SHA-256")
}

func TestResticErrors(t *testing.T) {
	t.Parallel()
	testsrv.Need(t, "restic", "restic")
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("one\n"), 0o600))
	env := append(os.Environ(), "RESTIC_CACHE_DIR="+t.TempDir())

	r, err := Open(Config{Repository: filepath.Join(dir, "none"), PasswordFile: pw, Env: env})
	require.NoError(t, err)
	_, err = r.List(ctx(t), "")
	var re *ResticError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, KindNoRepository, re.Kind)
	assert.Contains(t, re.Hint(), "restic init")

	require.NoError(t, r.Init(ctx(t)))
	other := filepath.Join(dir, "pw2")
	require.NoError(t, os.WriteFile(other, []byte("two\n"), 0o600))
	r2, err := Open(Config{Repository: filepath.Join(dir, "none"), PasswordFile: other, Env: env})
	require.NoError(t, err)
	_, err = r2.List(ctx(t), "")
	require.ErrorAs(t, err, &re)
	assert.Equal(t, KindPassword, re.Kind)
}

func TestOpenConfigErrors(t *testing.T) {
	clean := []string{"PATH=" + os.Getenv("PATH")}
	for _, tc := range []struct {
		cfg Config
		key string
	}{
		{Config{Env: clean, PasswordFile: "/etc/hostname"}, "repository"},
		{Config{Env: clean, Repository: "/srv/r"}, "password_file"},
		{Config{Env: clean, Repository: "/srv/r", PasswordFile: "/nonexistent/pw"}, "password_file"},
		{Config{Env: clean, Repository: "/srv/r", PasswordFile: "/etc/hostname", Restic: "/nonexistent/restic"}, "restic"},
		{Config{Env: []string{"PATH=/nonexistent"}, Repository: "/srv/r", PasswordFile: "/etc/hostname"}, "restic"},
	} {
		_, err := Open(tc.cfg)
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.key, ce.Key, err.Error())
		assert.NotEmpty(t, ce.Hint())
	}
	// restic's own variables are enough.
	_, err := Open(Config{Env: append(clean, "RESTIC_REPOSITORY=/srv/r", "RESTIC_PASSWORD=x"), Restic: "/bin/true"})
	require.NoError(t, err)
}

// TestResticEnvironment runs restic through a wrapper that records its
// arguments and environment: the password is only in the file restic is
// pointed at, carbonguard's other secrets are not passed, the back end's
// variables are.
func TestResticEnvironment(t *testing.T) {
	t.Parallel()
	real := testsrv.Need(t, "restic", "restic")
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	wrapper := filepath.Join(dir, "restic")
	require.NoError(t, os.WriteFile(wrapper, []byte("#!/bin/sh\n{ printf 'ARG %s\\n' \"$@\"; env | sed 's/^/ENV /'; } >> "+record+"\nexec "+real+" \"$@\"\n"), 0o755))
	pw := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pw, []byte("repo-password\n"), 0o600))
	env := append(os.Environ(), "RESTIC_CACHE_DIR="+t.TempDir(), "RESTIC_PASSWORD=env-password", "WSO2_PASSWORD=u2-secret",
		"AWS_ACCESS_KEY_ID=AKIA", "PGPASSWORD=db-secret")
	r, err := Open(Config{Repository: "rest:http://user:url-secret@127.0.0.1:1/", PasswordFile: pw, Restic: wrapper, Env: env})
	require.NoError(t, err)
	assert.Equal(t, "rest:http://user:***@127.0.0.1:1/", r.Repository())
	_, err = r.List(ctx(t), "")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "url-secret")
	b, err := os.ReadFile(record)
	require.NoError(t, err)
	rec := string(b)
	assert.Contains(t, rec, "ENV RESTIC_PASSWORD_FILE="+pw+"\n")
	assert.Contains(t, rec, "ENV RESTIC_REPOSITORY=rest:http://user:url-secret@127.0.0.1:1/\n")
	assert.Contains(t, rec, "ENV AWS_ACCESS_KEY_ID=AKIA\n")
	for _, secret := range []string{"env-password", "u2-secret", "db-secret", "repo-password"} {
		assert.NotContains(t, rec, secret)
	}
	for _, line := range strings.Split(rec, "\n") {
		if strings.HasPrefix(line, "ARG ") {
			assert.NotContains(t, line, "url-secret")
		}
	}
}

func TestRedactRepository(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/restic":                        "/srv/restic",
		"sftp:backup@dr:/srv/restic":         "sftp:backup@dr:/srv/restic",
		"rest:https://u:p@h:8000/r":          "rest:https://u:***@h:8000/r",
		"rest:https://u@h/":                  "rest:https://u@h/",
		"s3:https://s3.amazonaws.com/bucket": "s3:https://s3.amazonaws.com/bucket",
	} {
		assert.Equal(t, want, RedactRepository(in), in)
	}
}
