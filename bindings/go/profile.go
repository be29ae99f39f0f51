package coalmine

// #include "coalmine.h"
import "C"

import (
	"math"
	"runtime"
)

// Schema describes what is measured: metrics, segments and features. A tick's
// values are laid out values[segment*NumMetrics() + metric].
type Schema struct {
	h handle[*C.coalmine_schema]
}

func freeSchema(p *C.coalmine_schema) { C.coalmine_schema_free(p) }

func newSchema(op string, call func(out **C.coalmine_schema) C.coalmine_status) (*Schema, error) {
	var p *C.coalmine_schema
	if err := construct(op, func() C.coalmine_status { return call(&p) }); err != nil {
		return nil, err
	}
	s := &Schema{}
	track(s, &s.h, p, freeSchema)
	return s, nil
}

// ParseSchemaJSON parses and validates a schema from JSON: {"metrics": [{"name",
// "direction", "kind", "weight", "feature", "critical", "limit"}], "segments":
// [{"name", "weight"}], "features": [{"name", "weight"}]}.
func ParseSchemaJSON(spec []byte) (*Schema, error) {
	return newSchema("ParseSchemaJSON", func(out **C.coalmine_schema) C.coalmine_status {
		p, n := charsIn(spec)
		s := C.coalmine_schema_from_json(p, n, out)
		runtime.KeepAlive(spec)
		return s
	})
}

// ParseSchemaTOML parses and validates a schema from TOML ([[metrics]],
// [[segments]], [[features]] tables with the keys of the JSON form).
func ParseSchemaTOML(spec []byte) (*Schema, error) {
	return newSchema("ParseSchemaTOML", func(out **C.coalmine_schema) C.coalmine_status {
		p, n := charsIn(spec)
		s := C.coalmine_schema_from_toml(p, n, out)
		runtime.KeepAlive(spec)
		return s
	})
}

// Close releases the schema; it is idempotent.
func (s *Schema) Close() error {
	s.h.close()
	return nil
}

func (s *Schema) count(f func(*C.coalmine_schema) C.size_t) int {
	p, err := s.h.lock()
	if err != nil {
		return 0
	}
	defer s.h.unlock()
	n := int(f(p))
	runtime.KeepAlive(s)
	return n
}

// NumMetrics is the number of metrics (0 once closed).
func (s *Schema) NumMetrics() int {
	return s.count(func(p *C.coalmine_schema) C.size_t { return C.coalmine_schema_n_metrics(p) })
}

// NumSegments is the number of segments (0 once closed).
func (s *Schema) NumSegments() int {
	return s.count(func(p *C.coalmine_schema) C.size_t { return C.coalmine_schema_n_segments(p) })
}

// TickLen is the number of values per tick and cohort: NumSegments * NumMetrics.
func (s *Schema) TickLen() int {
	return s.count(func(p *C.coalmine_schema) C.size_t { return C.coalmine_schema_tick_len(p) })
}

func (s *Schema) name(op string, i int, read func(*C.coalmine_schema, C.size_t, *C.char, C.size_t, *C.size_t) C.coalmine_status) (string, error) {
	p, err := s.h.lock()
	if err != nil {
		return "", err
	}
	defer s.h.unlock()
	if i < 0 {
		return "", newError(op, C.COALMINE_INDEX_OUT_OF_RANGE, "negative index")
	}
	name, status := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return read(p, C.size_t(i), buf, n, w)
	})
	runtime.KeepAlive(s)
	if status != C.COALMINE_OK {
		return "", newError(op, status, "")
	}
	return name, nil
}

// MetricName is the name of metric i.
func (s *Schema) MetricName(i int) (string, error) {
	return s.name("Schema.MetricName", i, func(p *C.coalmine_schema, i C.size_t, b *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_schema_metric_name(p, i, b, n, w)
	})
}

// SegmentName is the name of segment i.
func (s *Schema) SegmentName(i int) (string, error) {
	return s.name("Schema.SegmentName", i, func(p *C.coalmine_schema, i C.size_t, b *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_schema_segment_name(p, i, b, n, w)
	})
}

func (s *Schema) index(op, name string, find func(*C.coalmine_schema, *C.char, C.size_t, *C.size_t) C.coalmine_status) (int, error) {
	p, err := s.h.lock()
	if err != nil {
		return 0, err
	}
	defer s.h.unlock()
	var out C.size_t
	b, n := text(name)
	status := find(p, b, n, &out)
	runtime.KeepAlive(name)
	runtime.KeepAlive(s)
	if status != C.COALMINE_OK {
		return 0, newError(op, status, "unknown name "+name)
	}
	return int(out), nil
}

// MetricIndex is the index of the metric called name (ErrUnknownName if none).
func (s *Schema) MetricIndex(name string) (int, error) {
	return s.index("Schema.MetricIndex", name, func(p *C.coalmine_schema, b *C.char, n C.size_t, o *C.size_t) C.coalmine_status {
		return C.coalmine_schema_metric_index(p, b, n, o)
	})
}

// SegmentIndex is the index of the segment called name (ErrUnknownName if none).
func (s *Schema) SegmentIndex(name string) (int, error) {
	return s.index("Schema.SegmentIndex", name, func(p *C.coalmine_schema, b *C.char, n C.size_t, o *C.size_t) C.coalmine_status {
		return C.coalmine_schema_segment_index(p, b, n, o)
	})
}

// ProfileBuilder learns a Profile from the stable version's history.
type ProfileBuilder struct {
	h handle[*C.coalmine_profile_builder]
}

func freeBuilder(p *C.coalmine_profile_builder) { C.coalmine_profile_builder_free(p) }

// NewProfileBuilder starts learning a profile over schema (copied: the schema may be
// closed afterwards). configJSON holds the profile settings, e.g.
// `{"candidate_periods": [96, 672]}` or `{"season_length": 24}`; nil for defaults.
func NewProfileBuilder(schema *Schema, configJSON []byte) (*ProfileBuilder, error) {
	sp, err := schema.h.lock()
	if err != nil {
		return nil, err
	}
	defer schema.h.unlock()
	var p *C.coalmine_profile_builder
	err = construct("NewProfileBuilder", func() C.coalmine_status {
		cfg, n := charsIn(configJSON)
		return C.coalmine_profile_builder_new(sp, cfg, n, &p)
	})
	runtime.KeepAlive(configJSON)
	runtime.KeepAlive(schema)
	if err != nil {
		return nil, err
	}
	b := &ProfileBuilder{}
	track(b, &b.h, p, freeBuilder)
	return b, nil
}

func (b *ProfileBuilder) fail(op string, p *C.coalmine_profile_builder, status C.coalmine_status) error {
	msg, _ := readText(func(buf *C.char, n C.size_t, w *C.size_t) C.coalmine_status {
		return C.coalmine_profile_builder_last_error(p, buf, n, w)
	})
	return newError(op, status, msg)
}

// PushTick adds one tick of history (TickLen values, NaN for missing). A rejected
// tick is not added.
func (b *ProfileBuilder) PushTick(values []float64) error {
	p, err := b.h.lock()
	if err != nil {
		return err
	}
	defer b.h.unlock()
	status := C.coalmine_profile_builder_push_tick(p, f64s(values), C.size_t(len(values)))
	runtime.KeepAlive(values)
	runtime.KeepAlive(b)
	if status != C.COALMINE_OK {
		return b.fail("ProfileBuilder.PushTick", p, status)
	}
	return nil
}

// PushAt adds one tick of history taken at timestamp (seconds, any epoch), its values
// as for PushTick. With timestamps the builder learns the tick interval
// (Profile.TickInterval) and tries a day and a week at that interval as seasons.
// Timestamps must be finite (ErrNonFinite) and strictly increasing (ErrTimestamp);
// a timestamped tick after ticks without one is ErrInvalidValue (every tick has a
// timestamp, or none does). A rejected tick is not added.
func (b *ProfileBuilder) PushAt(timestamp float64, values []float64) error {
	p, err := b.h.lock()
	if err != nil {
		return err
	}
	defer b.h.unlock()
	status := C.coalmine_profile_builder_push_tick_at(p, C.double(timestamp), f64s(values), C.size_t(len(values)))
	runtime.KeepAlive(values)
	runtime.KeepAlive(b)
	if status != C.COALMINE_OK {
		return b.fail("ProfileBuilder.PushAt", p, status)
	}
	return nil
}

// PushTicks adds consecutive ticks of history, row after row (a multiple of
// tickLen values). It stops at the first rejected tick and returns how many were
// added.
func (b *ProfileBuilder) PushTicks(values []float64, tickLen int) (int, error) {
	if tickLen <= 0 || len(values)%tickLen != 0 {
		return 0, newError("ProfileBuilder.PushTicks", C.COALMINE_LENGTH_MISMATCH, "values are not whole rows of tickLen")
	}
	for i := 0; i < len(values); i += tickLen {
		if err := b.PushTick(values[i : i+tickLen]); err != nil {
			return i / tickLen, err
		}
	}
	return len(values) / tickLen, nil
}

// Ticks is the number of history ticks added so far.
func (b *ProfileBuilder) Ticks() int {
	p, err := b.h.lock()
	if err != nil {
		return 0
	}
	defer b.h.unlock()
	n := int(C.coalmine_profile_builder_ticks(p))
	runtime.KeepAlive(b)
	return n
}

// Build learns the profile from the history so far. The builder stays usable.
func (b *ProfileBuilder) Build() (*Profile, error) {
	p, err := b.h.lock()
	if err != nil {
		return nil, err
	}
	defer b.h.unlock()
	var out *C.coalmine_profile
	status := C.coalmine_profile_builder_build(p, &out)
	runtime.KeepAlive(b)
	if status != C.COALMINE_OK {
		return nil, b.fail("ProfileBuilder.Build", p, status)
	}
	return wrapProfile(out), nil
}

// Close releases the builder; it is idempotent.
func (b *ProfileBuilder) Close() error {
	b.h.close()
	return nil
}

// Profile is what "normal" looks like for every segment and metric: fitted
// detectors, robust location and scale, seasonal shape, the joint model.
type Profile struct {
	h handle[*C.coalmine_profile]
}

func freeProfile(p *C.coalmine_profile) { C.coalmine_profile_free(p) }

func wrapProfile(p *C.coalmine_profile) *Profile {
	pr := &Profile{}
	track(pr, &pr.h, p, freeProfile)
	return pr
}

// LoadProfile reads a profile saved by Profile.Bytes. Another format version is
// ErrProfileVersion; truncated or corrupt bytes are ErrCorruptProfile.
func LoadProfile(data []byte) (*Profile, error) {
	var p *C.coalmine_profile
	err := construct("LoadProfile", func() C.coalmine_status {
		b, n := bytesIn(data)
		return C.coalmine_profile_from_bytes(b, n, &p)
	})
	runtime.KeepAlive(data)
	if err != nil {
		return nil, err
	}
	return wrapProfile(p), nil
}

// Bytes saves the profile (JSON with a format name and version).
func (pr *Profile) Bytes() ([]byte, error) {
	p, err := pr.h.lock()
	if err != nil {
		return nil, err
	}
	defer pr.h.unlock()
	var out *C.coalmine_bytes
	err = construct("Profile.Bytes", func() C.coalmine_status { return C.coalmine_profile_to_bytes(p, &out) })
	runtime.KeepAlive(pr)
	if err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// Schema is the profile's schema (a new handle to close).
func (pr *Profile) Schema() (*Schema, error) {
	p, err := pr.h.lock()
	if err != nil {
		return nil, err
	}
	defer pr.h.unlock()
	s, err := newSchema("Profile.Schema", func(out **C.coalmine_schema) C.coalmine_status {
		return C.coalmine_profile_schema(p, out)
	})
	runtime.KeepAlive(pr)
	return s, err
}

// TickInterval is the number of seconds between the history's ticks, learnt from the
// timestamps given to ProfileBuilder.PushAt; ok is false when the history had none
// (or a single tick), and once the profile is closed.
func (pr *Profile) TickInterval() (seconds float64, ok bool) {
	p, err := pr.h.lock()
	if err != nil {
		return 0, false
	}
	defer pr.h.unlock()
	s := float64(C.coalmine_profile_tick_interval(p))
	runtime.KeepAlive(pr)
	if math.IsNaN(s) {
		return 0, false
	}
	return s, true
}

// Close releases the profile; it is idempotent. Analyses made from it keep working.
func (pr *Profile) Close() error {
	pr.h.close()
	return nil
}
