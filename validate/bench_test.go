package validate

import (
	"context"
	"io"
	"testing"

	"github.com/carbonguard/carbonguard/pack"
)

// BenchmarkCheck is `carbonguard check` on a fixture pack without the host
// probe's I/O: open the pack, collect the facts with the fake host, run
// every registered check and render the text report. Target: < 100 ms.
func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{"apim-4.2", "carbon-4.4"} {
		b.Run(name, func(b *testing.B) {
			home := copyPack(b, name)
			probe := StaticProbe{Host: fakeHost()}
			b.ReportAllocs()
			for b.Loop() {
				p, err := pack.Open(home)
				if err != nil {
					b.Fatal(err)
				}
				f, err := Collect(context.Background(), p, nil, CollectOptions{Probe: probe, Now: fixedNow})
				if err != nil {
					b.Fatal(err)
				}
				r, err := Run([]*Facts{f}, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := r.WriteText(io.Discard, TextOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
