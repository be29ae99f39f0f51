package coalmine

// #include "coalmine.h"
import "C"

import (
	"runtime"
	"unsafe"
)

// AnomalyColumns receives a detector's batch output, one element per observation,
// column by column. Each slice must be at least as long as the batch; the library
// writes into them directly.
type AnomalyColumns struct {
	Expected        []float64
	Residual        []float64
	Deviation       []float64
	TailProbability []float64
	Ready           []bool
}

// NewAnomalyColumns allocates columns for n observations.
func NewAnomalyColumns(n int) AnomalyColumns {
	return AnomalyColumns{
		Expected:        make([]float64, n),
		Residual:        make([]float64, n),
		Deviation:       make([]float64, n),
		TailProbability: make([]float64, n),
		Ready:           make([]bool, n),
	}
}

func (c *AnomalyColumns) minLen() int {
	return min(len(c.Expected), len(c.Residual), len(c.Deviation), len(c.TailProbability), len(c.Ready))
}

func boolPtr(s []bool) *C.bool {
	if len(s) == 0 {
		return nil
	}
	return (*C.bool)(unsafe.Pointer(unsafe.SliceData(s)))
}

type batchFn[P comparable] func(p P, xs *C.double, n C.size_t, e, r, d, t *C.double, ready *C.bool, outLen C.size_t) C.coalmine_status

// observeMany is the shared body of the detectors' ObserveMany.
func observeMany[P comparable](op string, h *handle[P], xs []float64, out *AnomalyColumns, call batchFn[P], lastError func(P, *C.char, C.size_t, *C.size_t) C.coalmine_status) error {
	p, err := h.lock()
	if err != nil {
		return err
	}
	defer h.unlock()
	status := call(p, f64s(xs), C.size_t(len(xs)), f64s(out.Expected), f64s(out.Residual),
		f64s(out.Deviation), f64s(out.TailProbability), boolPtr(out.Ready), C.size_t(out.minLen()))
	runtime.KeepAlive(xs)
	runtime.KeepAlive(out)
	if status != C.COALMINE_OK {
		msg, _ := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status { return lastError(p, buf, n, w) })
		return newError(op, status, msg)
	}
	return nil
}

// Ewma is a streaming exponentially weighted moving-average detector.
type Ewma struct {
	h handle[*C.coalmine_ewma]
}

func freeEwma(p *C.coalmine_ewma) { C.coalmine_ewma_free(p) }

// NewEwma builds an EWMA detector; configJSON holds its settings (`{"alpha": 0.1,
// "warmup": 10, "clip": 5, "min_scale": 0}`, every key optional; nil for defaults).
func NewEwma(configJSON []byte) (*Ewma, error) {
	var p *C.coalmine_ewma
	err := construct("NewEwma", func() C.coalmine_status {
		b, n := charsIn(configJSON)
		return C.coalmine_ewma_new(b, n, &p)
	})
	runtime.KeepAlive(configJSON)
	if err != nil {
		return nil, err
	}
	e := &Ewma{}
	track(e, &e.h, p, freeEwma)
	return e, nil
}

func ewmaLastError(p *C.coalmine_ewma, b *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
	return C.coalmine_ewma_last_error(p, b, n, w)
}

// Observe scores x against the forecast made before it, then learns from it. A
// rejected value (NaN, infinite, beyond 1e100) changes nothing.
func (e *Ewma) Observe(x float64) (Anomaly, error) {
	p, err := e.h.lock()
	if err != nil {
		return Anomaly{}, err
	}
	defer e.h.unlock()
	var a C.coalmine_anomaly
	status := C.coalmine_ewma_observe(p, C.double(x), &a)
	runtime.KeepAlive(e)
	if status != C.COALMINE_OK {
		msg, _ := readText(func(b *C.char, n C.size_t, w *C.size_t) C.coalmine_status { return ewmaLastError(p, b, n, w) })
		return Anomaly{}, newError("Ewma.Observe", status, msg)
	}
	return anomalyFromC(&a), nil
}

// ObserveMany observes xs in order in one call, writing into out. Atomic: a
// rejected value changes nothing and the error names its index. Expected is NaN
// for the very first observation the detector ever sees.
func (e *Ewma) ObserveMany(xs []float64, out *AnomalyColumns) error {
	err := observeMany("Ewma.ObserveMany", &e.h, xs, out,
		func(p *C.coalmine_ewma, xs *C.double, n C.size_t, ex, r, d, t *C.double, ready *C.bool, l C.size_t) C.coalmine_status {
			return C.coalmine_ewma_observe_batch(p, xs, n, ex, r, d, t, ready, l)
		}, ewmaLastError)
	runtime.KeepAlive(e)
	return err
}

// Observations is the number of observations accepted so far.
func (e *Ewma) Observations() uint64 {
	p, err := e.h.lock()
	if err != nil {
		return 0
	}
	defer e.h.unlock()
	n := uint64(C.coalmine_ewma_observations(p))
	runtime.KeepAlive(e)
	return n
}

// Close releases the detector; it is idempotent.
func (e *Ewma) Close() error {
	e.h.close()
	return nil
}

// HoltWinters is a streaming additive Holt-Winters detector (level, trend, season).
type HoltWinters struct {
	h handle[*C.coalmine_holt_winters]
}

func freeHoltWinters(p *C.coalmine_holt_winters) { C.coalmine_holt_winters_free(p) }

func hwLastError(p *C.coalmine_holt_winters, b *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
	return C.coalmine_holt_winters_last_error(p, b, n, w)
}

func wrapHoltWinters(p *C.coalmine_holt_winters) *HoltWinters {
	hw := &HoltWinters{}
	track(hw, &hw.h, p, freeHoltWinters)
	return hw
}

// NewHoltWinters builds a detector initialised from history (at least two seasons,
// NaN for missing) and run through it. configJSON holds its settings
// (`{"season_length": 24, "params": {"alpha": 0.2, "beta": 0.01, "gamma": 0.1}}`,
// every key optional).
func NewHoltWinters(configJSON []byte, history []float64) (*HoltWinters, error) {
	var p *C.coalmine_holt_winters
	err := construct("NewHoltWinters", func() C.coalmine_status {
		b, n := charsIn(configJSON)
		return C.coalmine_holt_winters_new(b, n, f64s(history), C.size_t(len(history)), &p)
	})
	runtime.KeepAlive(configJSON)
	runtime.KeepAlive(history)
	if err != nil {
		return nil, err
	}
	return wrapHoltWinters(p), nil
}

// FitHoltWinters is NewHoltWinters after fitting the smoothing parameters on
// history; fitJSON holds the fit options (`{"fit_trend": true, "damped": false,
// "max_evaluations": 600}`; nil for defaults).
func FitHoltWinters(configJSON, fitJSON []byte, history []float64) (*HoltWinters, error) {
	var p *C.coalmine_holt_winters
	err := construct("FitHoltWinters", func() C.coalmine_status {
		b, n := charsIn(configJSON)
		f, fn := charsIn(fitJSON)
		return C.coalmine_holt_winters_fit(b, n, f, fn, f64s(history), C.size_t(len(history)), &p)
	})
	runtime.KeepAlive(configJSON)
	runtime.KeepAlive(fitJSON)
	runtime.KeepAlive(history)
	if err != nil {
		return nil, err
	}
	return wrapHoltWinters(p), nil
}

// Observe scores x against the forecast made before it, then learns from it.
func (hw *HoltWinters) Observe(x float64) (Anomaly, error) {
	p, err := hw.h.lock()
	if err != nil {
		return Anomaly{}, err
	}
	defer hw.h.unlock()
	var a C.coalmine_anomaly
	status := C.coalmine_holt_winters_observe(p, C.double(x), &a)
	runtime.KeepAlive(hw)
	if status != C.COALMINE_OK {
		msg, _ := readText(func(b *C.char, n C.size_t, w *C.size_t) C.coalmine_status { return hwLastError(p, b, n, w) })
		return Anomaly{}, newError("HoltWinters.Observe", status, msg)
	}
	return anomalyFromC(&a), nil
}

// ObserveMany observes xs in order in one call, as Ewma.ObserveMany.
func (hw *HoltWinters) ObserveMany(xs []float64, out *AnomalyColumns) error {
	err := observeMany("HoltWinters.ObserveMany", &hw.h, xs, out,
		func(p *C.coalmine_holt_winters, xs *C.double, n C.size_t, ex, r, d, t *C.double, ready *C.bool, l C.size_t) C.coalmine_status {
			return C.coalmine_holt_winters_observe_batch(p, xs, n, ex, r, d, t, ready, l)
		}, hwLastError)
	runtime.KeepAlive(hw)
	return err
}

// Forecast is the forecast h >= 1 ticks after the last observation.
func (hw *HoltWinters) Forecast(h int) (float64, error) {
	p, err := hw.h.lock()
	if err != nil {
		return 0, err
	}
	defer hw.h.unlock()
	if h < 1 {
		h = 1
	}
	var f C.double
	status := C.coalmine_holt_winters_forecast(p, C.size_t(h), &f)
	runtime.KeepAlive(hw)
	if status != C.COALMINE_OK {
		return 0, newError("HoltWinters.Forecast", status, "")
	}
	return float64(f), nil
}

// Observations is the number of observations accepted so far (history included).
func (hw *HoltWinters) Observations() uint64 {
	p, err := hw.h.lock()
	if err != nil {
		return 0
	}
	defer hw.h.unlock()
	n := uint64(C.coalmine_holt_winters_observations(p))
	runtime.KeepAlive(hw)
	return n
}

// Close releases the detector; it is idempotent.
func (hw *HoltWinters) Close() error {
	hw.h.close()
	return nil
}
