package wrapper

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/carbonguard/carbonguard/internal/testpack"
	"github.com/carbonguard/carbonguard/pack"
)

// BenchmarkVerdictLatency measures how long after the success line plus the
// stability window the up verdict comes: the goal is under 1 s. The success
// line's own timestamp (the server's clock, to the millisecond) is the
// start; the verdict's decision time the end. Run with
//
//	go test -run XXX -bench VerdictLatency -benchtime 5x ./wrapper/
//
// Reported: excess-ms (verdict − success line − stability; mean and max),
// read-ms (how long the line took to be read).
func BenchmarkVerdictLatency(b *testing.B) {
	const stability = time.Second
	var excess, read []float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tp := testpack.New(b, "apim-4.2")
		p, err := pack.Open(tp.Home)
		if err != nil {
			b.Fatal(err)
		}
		s, err := New(p, Options{
			AllowRoot: true, Environ: tp.Env(), Timeout: 30 * time.Second, Stability: stability,
			StopTimeout: 5 * time.Second, Logger: zerolog.Nop(),
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		v, err := s.Start(context.Background())
		b.StopTimer()
		if err != nil {
			b.Fatalf("%v", err)
		}
		if v.Timings.SuccessLogged == nil {
			b.Fatal("the success line has no timestamp")
		}
		excess = append(excess, ms(v.Timings.Decided.Sub(*v.Timings.SuccessLogged)-stability))
		read = append(read, ms(v.Timings.SuccessLine.Sub(*v.Timings.SuccessLogged)))
		if _, err := s.Stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		tp.Cleanup()
		b.StartTimer()
	}
	b.ReportMetric(mean(excess), "excess-ms")
	b.ReportMetric(maxOf(excess), "excess-max-ms")
	b.ReportMetric(mean(read), "read-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func maxOf(xs []float64) float64 {
	c := append([]float64(nil), xs...)
	sort.Float64s(c)
	if len(c) == 0 {
		return 0
	}
	return c[len(c)-1]
}
