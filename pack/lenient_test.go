package pack

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lenient open gives the pack's identity, update level and files when its
// configuration cannot be read, with the error in ConfigErr; a strict open
// refuses the same pack. Every accessor works on such a pack (no panic).
func TestOpenLenientKeepsIdentityWithoutConfiguration(t *testing.T) {
	t.Parallel()
	for name, broken := range map[string]func(home string){
		"invalid TOML": func(home string) {
			f, err := os.OpenFile(filepath.Join(home, "repository", "conf", "deployment.toml"), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString("\nbroken = [\n")
			require.NoError(t, err)
			require.NoError(t, f.Close())
		},
		"missing deployment.toml": func(home string) {
			require.NoError(t, os.Remove(filepath.Join(home, "repository", "conf", "deployment.toml")))
		},
		"offset of a wrong type": func(home string) {
			writeFile(t, home, "repository/conf/deployment.toml", "[server]\nhostname = \"localhost\"\noffset = true\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			home := copyFixture(t, "apim-4.2")
			broken(home)
			_, err := Open(home)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)

			p, err := OpenWith(home, Options{Lenient: true})
			require.NoError(t, err)
			require.ErrorAs(t, p.ConfigErr, &ce)
			assert.Equal(t, APIM, p.Product)
			assert.Equal(t, "4.2.0", p.Version)
			assert.Equal(t, "wso2am-4.2.0", p.ProductCode)
			assert.True(t, p.UpdateLevelKnown)
			assert.Equal(t, 12, p.UpdateLevel)
			assert.Equal(t, filepath.Join(p.Home, "bin", "api-manager.sh"), p.Script)
			assert.Equal(t, filepath.Join(p.Home, "wso2carbon.pid"), p.PIDFile)
			assert.Empty(t, p.Ports)
			assert.Empty(t, p.Node)

			// Nothing panics on a pack without its configuration.
			assert.False(t, p.Value("server.hostname").Set())
			assert.False(t, p.Has("server.hostname"))
			_ = p.Tables("database")
			_, _ = p.XML("repository/conf/carbon.xml")
			_, _, _ = p.RunningPID()
			_ = p.Launch()
		})
	}
}

// A good configuration opens the same either way.
func TestOpenLenientOnAGoodPackIsTheStrictOpen(t *testing.T) {
	t.Parallel()
	strict, err := Open(fixture("apim-4.2"))
	require.NoError(t, err)
	lenient, err := OpenWith(fixture("apim-4.2"), Options{Lenient: true})
	require.NoError(t, err)
	assert.NoError(t, lenient.ConfigErr)
	assert.Equal(t, strict.Ports, lenient.Ports)
	assert.Equal(t, strict.Node, lenient.Node)
}

// A FIFO where deployment.toml belongs is refused at once (it used to block
// the open, waiting for a writer).
func TestOpenRefusesAFIFOAsConfiguration(t *testing.T) {
	t.Parallel()
	home := tomlPack(t, "[server]\n")
	conf := filepath.Join(home, "repository", "conf", "deployment.toml")
	require.NoError(t, os.Remove(conf))
	require.NoError(t, syscall.Mkfifo(conf, 0o644))
	done := make(chan error, 1)
	go func() {
		_, err := Open(home)
		done <- err
	}()
	select {
	case err := <-done:
		var ce *ConfigError
		require.ErrorAs(t, err, &ce)
		assert.Contains(t, err.Error(), "not a regular file")
	case <-time.After(10 * time.Second):
		// Unblock the open so the goroutine ends, then fail.
		if f, err := os.OpenFile(conf, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("opening a pack whose deployment.toml is a FIFO blocked")
	}
}

// -DportOffset wins over [server] offset, but a file offset of a wrong type
// is refused all the same: start (which passes -DportOffset) must not
// launch a configuration that check and pack refuse.
func TestOpenChecksTheFileOffsetUnderDPortOffset(t *testing.T) {
	t.Parallel()
	home := tomlPack(t, "[server]\nhostname = \"localhost\"\noffset = \"abc\"\n")
	for _, props := range []map[string]string{nil, {"portOffset": "3"}} {
		_, err := OpenWith(home, Options{SysProps: props})
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, "%v", props)
		assert.Equal(t, 3, ce.Pos.Line)
	}
	good := tomlPack(t, "[server]\nhostname = \"localhost\"\noffset = 2\n")
	p, err := OpenWith(good, Options{SysProps: map[string]string{"portOffset": "3"}})
	require.NoError(t, err)
	n, _ := p.Offset.Int()
	assert.Equal(t, 3, n, "-DportOffset still wins")
	assert.Equal(t, SourceSysProp, p.Offset.Source)
}
