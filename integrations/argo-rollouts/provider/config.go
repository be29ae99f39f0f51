package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// PluginName is the name the plugin is registered under in the argo-rollouts-config
// ConfigMap and the key of its configuration in an AnalysisTemplate's
// `provider.plugin`.
const PluginName = "coalmine/coalmine"

// DefaultTimeout bounds each Prometheus query when the configuration sets none.
const DefaultTimeout = 10 * time.Second

// Config is the plugin's configuration in a metric's `provider.plugin["coalmine/coalmine"]`.
type Config struct {
	// Prometheus is the server the ticks are read from.
	Prometheus PrometheusConfig `json:"prometheus"`
	// Profile is the path of the stable version's profile (saved by `coalmine learn`
	// or Profile.Bytes) inside the controller's pod.
	Profile string `json:"profile"`
	// Cohorts are the label values that name the two cohorts, substituted for
	// `{cohort}`.
	Cohorts Cohorts `json:"cohorts"`
	// Segments maps a segment's name in the profile's schema to the label value
	// substituted for `{segment}`; a segment not listed uses its own name.
	Segments map[string]string `json:"segments,omitempty"`
	// Queries holds, per metric of the profile's schema, a PromQL template with
	// `{cohort}` and `{segment}` placeholders that selects one series.
	Queries map[string]string `json:"queries"`
	// Analysis is the analysis configuration given to NewAnalysis (policy, traffic,
	// ...), passed through unchanged; absent for defaults.
	Analysis json.RawMessage `json:"analysis,omitempty"`
}

// PrometheusConfig says where and how to query Prometheus.
type PrometheusConfig struct {
	// URL is the server's base address, e.g. http://prometheus.monitoring:9090.
	URL string `json:"url"`
	// Timeout bounds each query, as a Go duration ("10s"); DefaultTimeout if empty.
	Timeout string `json:"timeout,omitempty"`
	// BearerTokenEnv names an environment variable of the plugin's process that holds
	// a bearer token; the token itself never appears in the configuration.
	BearerTokenEnv string `json:"bearerTokenEnv,omitempty"`

	timeout time.Duration
}

// Cohorts names the control (stable) and canary cohorts as they appear in the
// queries' labels.
type Cohorts struct {
	Control string `json:"control"`
	Canary  string `json:"canary"`
}

// ParseConfig reads and checks a configuration. The checks that need the profile's
// schema (a query for every metric) are CheckSchema's.
func ParseConfig(raw []byte) (*Config, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("no configuration under provider.plugin[%q]", PluginName)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("configuration of %s: %w", PluginName, err)
	}
	var problems []string
	if c.Prometheus.URL == "" {
		problems = append(problems, "prometheus.url is required")
	} else if u, err := url.Parse(c.Prometheus.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("prometheus.url %q is not an http(s) URL", c.Prometheus.URL))
	}
	c.Prometheus.timeout = DefaultTimeout
	if c.Prometheus.Timeout != "" {
		d, err := time.ParseDuration(c.Prometheus.Timeout)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("prometheus.timeout %q is not a positive duration", c.Prometheus.Timeout))
		}
		c.Prometheus.timeout = d
	}
	if c.Profile == "" {
		problems = append(problems, "profile (the profile file's path) is required")
	}
	if c.Cohorts.Control == "" || c.Cohorts.Canary == "" {
		problems = append(problems, "cohorts.control and cohorts.canary are required")
	} else if c.Cohorts.Control == c.Cohorts.Canary {
		problems = append(problems, "cohorts.control and cohorts.canary are the same label value")
	}
	if len(c.Queries) == 0 {
		problems = append(problems, "queries: at least one metric's query is required")
	}
	for metric, q := range c.Queries {
		if !strings.Contains(q, "{cohort}") {
			problems = append(problems, fmt.Sprintf("queries.%s has no {cohort} placeholder: both cohorts would read the same series", metric))
		}
	}
	if len(c.Analysis) > 0 && !json.Valid(c.Analysis) {
		problems = append(problems, "analysis is not valid JSON")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("configuration of %s: %s", PluginName, strings.Join(sortedCopy(problems), "; "))
	}
	return &c, nil
}

// SchemaNames is what CheckSchema needs of a schema.
type SchemaNames struct {
	Metrics  []string
	Segments []string
}

// CheckSchema checks the queries against the profile's schema: one query per
// metric, no query for a metric the schema lacks, and a {segment} placeholder when
// there are several segments.
func (c *Config) CheckSchema(s SchemaNames) error {
	var problems []string
	known := make(map[string]bool, len(s.Metrics))
	for _, m := range s.Metrics {
		known[m] = true
		q, ok := c.Queries[m]
		if !ok {
			problems = append(problems, fmt.Sprintf("queries has no query for the profile's metric %q", m))
		} else if len(s.Segments) > 1 && !strings.Contains(q, "{segment}") {
			problems = append(problems, fmt.Sprintf("queries.%s has no {segment} placeholder but the profile has %d segments", m, len(s.Segments)))
		}
	}
	for m := range c.Queries {
		if !known[m] {
			problems = append(problems, fmt.Sprintf("queries.%s: the profile has no metric %q", m, m))
		}
	}
	segs := make(map[string]bool, len(s.Segments))
	for _, seg := range s.Segments {
		segs[seg] = true
	}
	for seg := range c.Segments {
		if !segs[seg] {
			problems = append(problems, fmt.Sprintf("segments.%s: the profile has no segment %q", seg, seg))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(sortedCopy(problems), "; "))
	}
	return nil
}

// Query is the PromQL of metric for one cohort label value and one segment.
func (c *Config) Query(metric, cohort, segment string) string {
	label := segment
	if v, ok := c.Segments[segment]; ok {
		label = v
	}
	r := strings.NewReplacer("{cohort}", cohort, "{segment}", label)
	return r.Replace(c.Queries[metric])
}
