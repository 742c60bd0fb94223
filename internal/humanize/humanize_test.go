package humanize

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		728_236_032: "694.5 MiB", 10 << 30: "10.0 GiB", 3 << 40: "3.0 TiB",
	} {
		assert.Equal(t, want, Bytes(n), n)
	}
}
