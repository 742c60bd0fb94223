package archive

import "time"

// progressInterval is how often Progress is called; the kill tests set 0.
var progressInterval = 100 * time.Millisecond

// progress throttles Progress callbacks to about ten a second.
type progress struct {
	fn         func(Progress)
	p          Progress
	start      time.Time
	last       time.Time
	sinceCheck int64
}

func newProgress(op string, fn func(Progress), totalBytes int64, totalFiles int) *progress {
	now := time.Now()
	return &progress{fn: fn, p: Progress{Op: op, TotalBytes: totalBytes, TotalFiles: totalFiles}, start: now, last: now}
}

func (p *progress) add(bytes int64, files int) {
	p.p.Bytes += bytes
	p.p.Files += files
	if p.fn == nil {
		return
	}
	// Reading the clock per 64 KiB keeps its cost out of the hot loop.
	if p.sinceCheck += bytes + int64(files)*4096; p.sinceCheck < 64<<10 && progressInterval > 0 {
		return
	}
	p.sinceCheck = 0
	now := time.Now()
	if now.Sub(p.last) < progressInterval {
		return
	}
	p.last = now
	p.emit(now)
}

func (p *progress) emit(now time.Time) {
	el := now.Sub(p.start).Seconds()
	if el > 0 {
		p.p.Rate = float64(p.p.Bytes) / el
	}
	p.p.ETA = 0
	if p.p.Rate > 0 && p.p.TotalBytes > p.p.Bytes {
		p.p.ETA = time.Duration(float64(p.p.TotalBytes-p.p.Bytes) / p.p.Rate * float64(time.Second))
	}
	p.fn(p.p)
}

func (p *progress) finish() {
	if p.fn == nil {
		return
	}
	p.p.Done = true
	p.emit(time.Now())
}
