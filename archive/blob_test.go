package archive

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Raw frames and compressed ones decode back, with this package's decoder
// and with the zstd tool; incompressible content is framed raw, the rest
// compressed.
func TestSegmentFrames(t *testing.T) {
	t.Parallel()
	enc, err := newSegmentEncoder()
	require.NoError(t, err)
	dec, err := zstd.NewReader(nil)
	require.NoError(t, err)
	defer dec.Close()
	text := []byte(strings.Repeat("<resource uri-template=\"/items/{id}\"/>\n", 30000))
	for _, tc := range []struct {
		name string
		in   []byte
		raw  bool
	}{
		{"empty", nil, false},          // zstd frames it as small as raw
		{"one byte", []byte{7}, false}, // likewise
		{"random, one block", randomBytes(1, rawBlockSize), true},
		{"random, a block and a byte", randomBytes(2, rawBlockSize+1), true},
		{"random, a segment", randomBytes(3, segmentSize), true},
		{"text, a segment", text[:segmentSize], false},
		{"text, small", text[:1000], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, raw := enc.encode(nil, tc.in)
			assert.Equal(t, tc.raw, raw)
			got, err := dec.DecodeAll(out, nil)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(tc.in, got))
			if _, err := exec.LookPath("zstd"); err != nil {
				t.Fatal("zstd (the tool) is needed: apt-get install zstd")
			}
			cmd := exec.Command("zstd", "-dq", "-c")
			cmd.Stdin = bytes.NewReader(out)
			got, err = cmd.Output()
			require.NoError(t, err)
			assert.True(t, bytes.Equal(tc.in, got), "zstd -d reads it")
		})
	}
}
