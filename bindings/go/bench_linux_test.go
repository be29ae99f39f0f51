package coalmine_test

import (
	"encoding/json"
	"runtime"
	"syscall"
	"testing"
	"time"

	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

// threadCPU is the CPU time of the calling OS thread. The benchmarks lock their
// goroutine to one thread, so every cgo call runs there, and report CPU time per
// tick beside wall time: on a shared machine the wall time also counts the time the
// thread waited for a core.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Observe, one cgo call per tick, on the fixture's healthy rollout replayed in a
// loop (timestamps keep increasing). The Rust figure for the same ticks comes from
// the `bench_ticks` example; `make bench-go` runs both, interleaved.
func BenchmarkObserve(b *testing.B) {
	ro, a := benchSetup(b)
	defer a.Close()
	n := len(ro.timestamps)
	span := ro.timestamps[n-1] - ro.timestamps[0] + 1
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu := threadCPU()
	for i := 0; i < b.N; i++ {
		k := i % n
		ts, control, canary := ro.tick(k)
		if _, err := a.Observe(ts+float64(i/n)*span, control, canary); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N), "cpu-ns/tick")
}

// ObserveMany, all of the rollout's ticks per call; reported per tick.
func BenchmarkObserveMany(b *testing.B) {
	ro, a := benchSetup(b)
	defer a.Close()
	n := len(ro.timestamps)
	span := ro.timestamps[n-1] - ro.timestamps[0] + 1
	ts := make([]float64, n)
	out := make([]coalmine.Decision, 0, n)
	c := ro.cols
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu := threadCPU()
	// Exactly b.N ticks, in calls of the whole rollout (the last one shorter).
	for done, round := 0, 0; done < b.N; round++ {
		m := min(n, b.N-done)
		for k := 0; k < m; k++ {
			ts[k] = ro.timestamps[k] + float64(round)*span
		}
		var err error
		if out, err = a.ObserveMany(out[:0], ts[:m], ro.control[:m*c], ro.canary[:m*c]); err != nil {
			b.Fatal(err)
		}
		done += m
	}
	b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N), "cpu-ns/tick")
}

// benchSetup gives the fixture's first rollout and an analysis of it in shadow mode:
// the same work per tick, but the traffic never moves, so the rollout is never
// promoted (which would end it) however long the benchmark replays it.
func benchSetup(b *testing.B) (*rollout, *coalmine.Analysis) {
	rollouts := readFixture(b)
	ro := &rollouts[0]
	profile := ro.profile(b)
	defer profile.Close()
	var cfg map[string]any
	if err := json.Unmarshal(ro.analysisCfg, &cfg); err != nil {
		b.Fatal(err)
	}
	traffic, ok := cfg["traffic"].(map[string]any)
	if !ok {
		b.Fatal("the fixture's analysis configuration has no traffic settings")
	}
	traffic["mode"] = "shadow"
	shadow, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return ro, must(coalmine.NewAnalysis(profile, shadow))
}

// The fixed cost of one call through the package: a trivial getter (a lock, a cgo
// call, an unlock), for comparison with the per-tick figures.
func BenchmarkCall(b *testing.B) {
	_, a := benchSetup(b)
	defer a.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	cpu := threadCPU()
	for i := 0; i < b.N; i++ {
		if a.Ticks() != 0 {
			b.Fatal("no tick was observed")
		}
	}
	b.ReportMetric(float64(threadCPU()-cpu)/float64(b.N), "cpu-ns/call")
}
