package provider

import (
	"strings"
	"testing"
	"time"
)

const goodConfig = `{
  "prometheus": {"url": "http://prometheus.monitoring:9090", "timeout": "3s"},
  "profile": "/etc/coalmine/profile.json",
  "cohorts": {"control": "stable", "canary": "canary"},
  "segments": {"pro": "enterprise"},
  "queries": {
    "error_rate": "sum(rate(errors{version=\"{cohort}\",tier=\"{segment}\"}[1m]))",
    "latency_ms": "histogram_quantile(0.9, sum by (le) (rate(lat_bucket{version=\"{cohort}\",tier=\"{segment}\"}[1m])))"
  },
  "analysis": {"policy": {"pause_at": 0.5}}
}`

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.Prometheus.timeout != 3*time.Second || c.Cohorts.Canary != "canary" || string(c.Analysis) != `{"policy": {"pause_at": 0.5}}` {
		t.Fatalf("%+v", c)
	}
	if got, want := c.Query("error_rate", "canary", "pro"), `sum(rate(errors{version="canary",tier="enterprise"}[1m]))`; got != want {
		t.Fatalf("query %q, want %q", got, want)
	}
	if got, want := c.Query("error_rate", "stable", "free"), `sum(rate(errors{version="stable",tier="free"}[1m]))`; got != want {
		t.Fatalf("query %q, want %q", got, want)
	}
	if err := c.CheckSchema(SchemaNames{Metrics: []string{"error_rate", "latency_ms"}, Segments: []string{"free", "pro"}}); err != nil {
		t.Fatal(err)
	}
	d, err := ParseConfig([]byte(`{"prometheus": {"url": "https://p"}, "profile": "p.json", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "x{v=\"{cohort}\"}"}}`))
	if err != nil || d.Prometheus.timeout != DefaultTimeout || d.Analysis != nil {
		t.Fatalf("%+v %v", d, err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ config, want string }{
		{``, "no configuration"},
		{`{`, "unexpected EOF"},
		{`{"prometheus": {"url": "http://p"}, "profil": "x"}`, `unknown field "profil"`},
		{`{"profile": "p", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "{cohort}"}}`, "prometheus.url is required"},
		{`{"prometheus": {"url": "p:9090"}, "profile": "p", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "{cohort}"}}`, "is not an http(s) URL"},
		{`{"prometheus": {"url": "http://p", "timeout": "-1s"}, "profile": "p", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "{cohort}"}}`, "not a positive duration"},
		{`{"prometheus": {"url": "http://p"}, "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "{cohort}"}}`, "profile (the profile file's path) is required"},
		{`{"prometheus": {"url": "http://p"}, "profile": "p", "cohorts": {"control": "a"}, "queries": {"m": "{cohort}"}}`, "cohorts.control and cohorts.canary are required"},
		{`{"prometheus": {"url": "http://p"}, "profile": "p", "cohorts": {"control": "a", "canary": "a"}, "queries": {"m": "{cohort}"}}`, "the same label value"},
		{`{"prometheus": {"url": "http://p"}, "profile": "p", "cohorts": {"control": "a", "canary": "b"}}`, "at least one metric's query"},
		{`{"prometheus": {"url": "http://p"}, "profile": "p", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "up"}}`, "queries.m has no {cohort} placeholder"},
	} {
		_, err := ParseConfig([]byte(c.config))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.config, err, c.want)
		}
	}
}

func TestCheckSchema(t *testing.T) {
	c, err := ParseConfig([]byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		names SchemaNames
		want  string
	}{
		{SchemaNames{Metrics: []string{"error_rate", "latency_ms", "cpu"}, Segments: []string{"free", "pro"}}, `no query for the profile's metric "cpu"`},
		{SchemaNames{Metrics: []string{"error_rate"}, Segments: []string{"free", "pro"}}, `the profile has no metric "latency_ms"`},
		{SchemaNames{Metrics: []string{"error_rate", "latency_ms"}, Segments: []string{"free"}}, `the profile has no segment "pro"`},
	} {
		if err := c.CheckSchema(s.names); err == nil || !strings.Contains(err.Error(), s.want) {
			t.Errorf("%+v: %v, want %q", s.names, err, s.want)
		}
	}
	one, _ := ParseConfig([]byte(`{"prometheus": {"url": "http://p"}, "profile": "p", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "x{v=\"{cohort}\"}"}}`))
	if err := one.CheckSchema(SchemaNames{Metrics: []string{"m"}, Segments: []string{"all"}}); err != nil {
		t.Errorf("one segment needs no {segment}: %v", err)
	}
	if err := one.CheckSchema(SchemaNames{Metrics: []string{"m"}, Segments: []string{"a", "b"}}); err == nil || !strings.Contains(err.Error(), "no {segment} placeholder") {
		t.Errorf("two segments need {segment}: %v", err)
	}
}
