package wrapper

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carbonguard/carbonguard/internal/testpack"
)

// A script that gives up before the JVM (a JAVA_HOME without java) writes
// nothing to Carbon's log: its own last lines are the verdict's evidence.
func TestStartShowsTheScriptsLastLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		consoleLog bool
	}{{"console held during the boot", false}, {"console log file", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tp := testpack.New(t, "apim-4.2")
			o := fastOptions(t, tp)
			o.JavaHome = filepath.Join(tp.Home, "nojdk")
			if tc.consoleLog {
				o.ConsoleLog = filepath.Join(t.TempDir(), "console.log")
				require.NoError(t, os.WriteFile(o.ConsoleLog, []byte("an earlier boot's line\n"), 0o640))
			}
			s := newServer(t, tp, o)
			v, err := s.Start(context.Background())
			var be *BootError
			require.ErrorAs(t, err, &be)
			requireState(t, v, Failed)
			assert.True(t, be.ExitedWithoutLog())
			require.NotNil(t, v.Exit)
			assert.Equal(t, 1, v.Exit.Code)
			require.NotNil(t, v.Console)
			assert.Equal(t, o.ConsoleLog, v.Console.Path)
			assert.Equal(t, []string{
				"Error: JAVA_HOME is not defined correctly.",
				" CARBON cannot execute " + filepath.Join(o.JavaHome, "bin", "java"),
			}, v.Console.Tail, "only this boot's lines")

			var text bytes.Buffer
			require.NoError(t, v.WriteText(&text))
			assert.Contains(t, text.String(), "last console lines")
			assert.Contains(t, text.String(), "\n    Error: JAVA_HOME is not defined correctly.\n")

			saved, err := LoadLastVerdict(o.StateDir)
			require.NoError(t, err)
			assert.Equal(t, v.Console, saved.Console)
		})
	}
}

// After the verdict the console is drained, as the stock start's /dev/null
// would: a server that keeps writing to it (here the JVM relaunched by the
// script's 121 loop, which prints its whole boot again) is neither blocked
// nor killed by a pipe whose reader has gone.
func TestStartConsoleDrainedAfterTheVerdict(t *testing.T) {
	t.Parallel()
	tp := testpack.New(t, "apim-4.2", testpack.WithBehaviour("restart-once"), testpack.WithCrashAfter(1500*time.Millisecond))
	o := fastOptions(t, tp)
	s := newServer(t, tp, o)
	v, err := s.Start(context.Background())
	require.NoError(t, err)
	requireState(t, v, Up)
	assert.Nil(t, v.Console, "no console evidence for a server that lives")
	first := v.PID

	tp.WaitLog(t, "Starting a new Carbon instance", 10*time.Second)
	require.Eventually(t, func() bool {
		return strings.Count(tp.Log(), "WSO2 Carbon started in") == 2
	}, 20*time.Second, 20*time.Millisecond, "the relaunched JVM boots; log:\n%s", tp.Log())
	pid, alive := tp.PID()
	assert.True(t, alive)
	assert.NotEqual(t, first, pid)
	time.Sleep(300 * time.Millisecond) // it lives on, writing to its console
	_, alive = tp.PID()
	assert.True(t, alive)
}

func TestRingKeepsTheEnd(t *testing.T) {
	var r ring
	r.write([]byte("first line\nsecond"))
	b, cut := r.snapshot()
	assert.Equal(t, []string{"first line", "second"}, lastLines(b, cut, 20))

	r.write(bytes.Repeat([]byte("x"), consoleKeep-10))
	r.write([]byte("\nlast line\r\n\x1b[31mred\x1b[0m\n"))
	b, cut = r.snapshot()
	assert.True(t, cut)
	assert.Len(t, b, consoleKeep)
	assert.Equal(t, []string{"last line", "?[31mred?[0m"}, lastLines(b, cut, 20))

	var big ring
	big.write(bytes.Repeat([]byte("y\n"), consoleKeep))
	b, cut = big.snapshot()
	assert.Equal(t, []string{"y", "y"}, lastLines(b, cut, 2))
}
