package archive

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/mholt/archives"
)

// archiveName is the archive's file name inside a snapshot directory.
func archiveName(compression string) string {
	if compression == CompressionGzip {
		return "data.tar.gz"
	}
	return "data.tar.zst"
}

// codecWorkers bounds the compressor's goroutines: enough to use a small
// machine fully, few enough to keep memory bounded on a big one.
func codecWorkers() int {
	return min(max(runtime.GOMAXPROCS(0), 1), 4)
}

func compressor(compression string, w io.Writer) (io.WriteCloser, error) {
	switch compression {
	case CompressionZstd:
		// Not archives.Zstd.OpenWriter: one zstd stream encoder compresses
		// on one goroutine at a time (see frameWriter).
		return newFrameWriter(w, codecWorkers())
	case CompressionGzip:
		return archives.Gz{CompressionLevel: gzip.BestSpeed, Multithreaded: codecWorkers() > 1}.OpenWriter(w)
	}
	return nil, fmt.Errorf("unknown compression %q: use zstd or gzip", compression)
}

func decompressor(compression string, r io.Reader) (io.ReadCloser, error) {
	switch compression {
	case CompressionZstd:
		// One synchronous decoder on a goroutine of its own, reading ahead
		// of the consumer (which hashes, and writes files on restore),
		// costs less CPU than the decoder's own concurrent mode, whose
		// stages hand every block between goroutines.
		zr, err := archives.Zstd{DecoderOptions: []zstd.DOption{
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(false),
			zstd.WithDecoderMaxMemory(1 << 30),
		}}.OpenReader(r)
		if err != nil {
			return nil, err
		}
		return &aheadReadCloser{aheadReader: newAheadReader(zr), src: zr}, nil
	case CompressionGzip:
		return archives.Gz{Multithreaded: codecWorkers() > 1}.OpenReader(r)
	}
	return nil, fmt.Errorf("unknown compression %q in manifest", compression)
}

// aheadReadCloser stops the read-ahead before closing its source.
type aheadReadCloser struct {
	*aheadReader
	src io.Closer
}

func (a *aheadReadCloser) Close() error {
	a.aheadReader.Close()
	return a.src.Close()
}
