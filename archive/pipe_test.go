package archive

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFrameWriterRoundTrip: the frames, written in order, decode as one
// stream to exactly the input, whatever the mix of Write and space/commit
// and wherever the segment boundaries fall.
func TestFrameWriterRoundTrip(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 511, frameSize - 1, frameSize, frameSize + 1, 5*frameSize + 12345} {
		in := make([]byte, size)
		for i := range in {
			if i%3 == 0 {
				in[i] = byte(rnd.IntN(256)) // some noise, some repetition
			} else {
				in[i] = byte(i / 7)
			}
		}
		var out bytes.Buffer
		fw, err := newFrameWriter(&out, 2)
		require.NoError(t, err)
		for rest, i := in, 0; len(rest) > 0; i++ {
			if i%2 == 0 {
				k := min(len(rest), 1+rnd.IntN(300<<10))
				n, err := fw.Write(rest[:k])
				require.NoError(t, err)
				require.Equal(t, k, n)
				rest = rest[k:]
				continue
			}
			space, err := fw.space()
			require.NoError(t, err)
			require.NotEmpty(t, space)
			k := copy(space[:min(len(space), 1+rnd.IntN(700<<10))], rest)
			require.NoError(t, fw.commit(k))
			rest = rest[k:]
		}
		require.NoError(t, fw.Close())
		_, err = fw.Write([]byte{1})
		require.ErrorIs(t, err, errWriterClosed)

		zr, err := decompressor(CompressionZstd, &out)
		require.NoError(t, err)
		got, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.NoError(t, zr.Close())
		require.Equal(t, len(in), len(got), "size %d", size)
		require.True(t, bytes.Equal(in, got), "size %d: content differs", size)
	}
}

type failingWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errDiskFull
	}
	return len(p), nil
}

// TestFrameWriterError: a failing destination surfaces through a later
// Write or through Close, and nothing blocks.
func TestFrameWriterError(t *testing.T) {
	t.Parallel()
	fw, err := newFrameWriter(&failingWriter{after: 100}, 2)
	require.NoError(t, err)
	junk := make([]byte, 1<<20)
	var werr error
	for range 40 {
		if _, werr = fw.Write(junk); werr != nil {
			break
		}
	}
	cerr := fw.Close()
	require.ErrorIs(t, errors.Join(werr, cerr), errDiskFull)
	require.ErrorIs(t, cerr, errDiskFull)
}

type chunkyReader struct {
	data []byte
	err  error
}

func (c *chunkyReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, c.err
	}
	n := copy(p[:min(len(p), 70000)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// TestAheadReader: everything read before an error arrives before it, and
// Close stops the goroutine even when the consumer stops early.
func TestAheadReader(t *testing.T) {
	t.Parallel()
	in := bytes.Repeat([]byte("0123456789abcdef"), 5*pipeBufSize/16+3)
	broken := errors.New("bad block")

	a := newAheadReader(&chunkyReader{data: in, err: broken})
	got, err := io.ReadAll(a)
	assert.ErrorIs(t, err, broken)
	assert.True(t, bytes.Equal(in, got))
	require.NoError(t, a.Close())

	a = newAheadReader(&chunkyReader{data: in, err: io.EOF})
	got, err = io.ReadAll(a)
	assert.NoError(t, err)
	assert.True(t, bytes.Equal(in, got))
	require.NoError(t, a.Close())

	a = newAheadReader(&chunkyReader{data: in, err: io.EOF})
	_, err = io.ReadFull(a, make([]byte, 10))
	require.NoError(t, err)
	require.NoError(t, a.Close()) // returns although the goroutine had more to hand over
}
