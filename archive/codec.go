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
		return archives.Zstd{EncoderOptions: []zstd.EOption{
			zstd.WithEncoderLevel(zstd.SpeedFastest),
			zstd.WithEncoderConcurrency(codecWorkers()),
			zstd.WithEncoderCRC(true),
		}}.OpenWriter(w)
	case CompressionGzip:
		return archives.Gz{CompressionLevel: gzip.BestSpeed, Multithreaded: codecWorkers() > 1}.OpenWriter(w)
	}
	return nil, fmt.Errorf("unknown compression %q: use zstd or gzip", compression)
}

func decompressor(compression string, r io.Reader) (io.ReadCloser, error) {
	switch compression {
	case CompressionZstd:
		return archives.Zstd{DecoderOptions: []zstd.DOption{
			zstd.WithDecoderConcurrency(codecWorkers()),
			zstd.WithDecoderMaxMemory(1 << 30),
		}}.OpenReader(r)
	case CompressionGzip:
		return archives.Gz{Multithreaded: codecWorkers() > 1}.OpenReader(r)
	}
	return nil, fmt.Errorf("unknown compression %q in manifest", compression)
}
