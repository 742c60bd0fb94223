package archive

import (
	"encoding/binary"

	"github.com/klauspost/compress/zstd"
)

// A blob is one file's content as stored in a pack: one or more zstd frames
// (RFC 8878), one per segment of up to segmentSize bytes, so that any zstd
// decoder restores it (zstd -d < blob). A segment that compresses well is a
// compressed frame; one that does not (jars, zips, images: content that is
// compressed already) is a frame of raw blocks, which costs no compression
// and next to nothing to decode. The choice is made by content, per
// segment: a sample from its start is compressed first.

const (
	segmentSize   = 1 << 20 // raw bytes per frame
	rawBlockSize  = 128 << 10
	sampleSize    = 32 << 10
	rawIfAbove    = 0.90 // store raw when the sample does not shrink below 90%
	zstdMagic     = 0xFD2FB528
	frameOverhead = 4 + 1 + 4 // magic, descriptor, 4-byte content size
)

// appendRawFrame appends p as a zstd frame of raw blocks.
func appendRawFrame(dst, p []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, zstdMagic)
	// Frame header descriptor: 4-byte content size, single segment, no
	// checksum (the blob's SHA-256 is checked instead).
	dst = append(dst, 0x80|0x20)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
	if len(p) == 0 {
		// One empty last raw block.
		return append(dst, 1, 0, 0)
	}
	for len(p) > 0 {
		n := min(len(p), rawBlockSize)
		h := uint32(n)<<3 | 0<<1 // raw block
		if n == len(p) {
			h |= 1 // last block
		}
		dst = append(dst, byte(h), byte(h>>8), byte(h>>16))
		dst = append(dst, p[:n]...)
		p = p[n:]
	}
	return dst
}

// segmentEncoder compresses one segment at a time (one per goroutine).
type segmentEncoder struct {
	enc *zstd.Encoder
}

func newSegmentEncoder() (*segmentEncoder, error) {
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(segmentSize),
		zstd.WithEncoderCRC(false),
		zstd.WithZeroFrames(true),
		zstd.WithSingleSegment(true),
	)
	if err != nil {
		return nil, err
	}
	return &segmentEncoder{enc: enc}, nil
}

// encode appends p's frame to dst and says whether it is raw.
func (s *segmentEncoder) encode(dst, p []byte) ([]byte, bool) {
	if len(p) > sampleSize*2 {
		sample := s.enc.EncodeAll(p[:sampleSize], dst[len(dst):len(dst)])
		if float64(len(sample)) > float64(sampleSize)*rawIfAbove {
			return appendRawFrame(dst, p), true
		}
	}
	start := len(dst)
	dst = s.enc.EncodeAll(p, dst)
	if len(dst)-start >= len(p)+frameOverhead+3*(len(p)/rawBlockSize+1) {
		return appendRawFrame(dst[:start], p), true
	}
	return dst, false
}
