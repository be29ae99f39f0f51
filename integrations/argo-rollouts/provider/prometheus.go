package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one instant-query result: a value (NaN when the query returned no
// series or a non-finite value: missing data stays missing) and the evaluation
// timestamp Prometheus reported (0 when no series came back).
type Sample struct {
	Value     float64
	Timestamp float64
}

// Prometheus queries a Prometheus server's HTTP API.
type Prometheus struct {
	base   *url.URL
	token  string
	client *http.Client
}

// NewPrometheus makes a client for the configured server.
func NewPrometheus(c PrometheusConfig) (*Prometheus, error) {
	u, err := url.Parse(strings.TrimRight(c.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("prometheus.url: %w", err)
	}
	p := &Prometheus{base: u, client: &http.Client{Timeout: c.timeout}}
	if p.client.Timeout <= 0 {
		p.client.Timeout = DefaultTimeout
	}
	if c.BearerTokenEnv != "" {
		p.token = os.Getenv(c.BearerTokenEnv)
		if p.token == "" {
			return nil, fmt.Errorf("prometheus.bearerTokenEnv: the environment variable %s is empty or unset", c.BearerTokenEnv)
		}
	}
	return p, nil
}

// Query runs an instant query (/api/v1/query) evaluated at `at`, expecting at most
// one series. Errors name the query.
func (p *Prometheus) Query(ctx context.Context, query string, at time.Time) (Sample, error) {
	form := url.Values{}
	form.Set("query", query)
	form.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64))
	endpoint := p.base.JoinPath("api", "v1", "query").String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Sample{}, fmt.Errorf("query %q: %w", query, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return Sample{}, fmt.Errorf("query %q: %w", query, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Sample{}, fmt.Errorf("query %q: reading the response: %w", query, err)
	}
	s, err := ParseQueryResponse(resp.StatusCode, body)
	if err != nil {
		return Sample{}, fmt.Errorf("query %q: %w", query, err)
	}
	return s, nil
}

type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// ParseQueryResponse reads an /api/v1/query response body. An empty vector and a
// NaN or infinite value give a missing sample; several series, an error status or
// an HTTP error are errors.
func ParseQueryResponse(status int, body []byte) (Sample, error) {
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		if status != http.StatusOK {
			return Sample{}, fmt.Errorf("HTTP %d: %s", status, truncate(string(body), 200))
		}
		return Sample{}, fmt.Errorf("not a Prometheus API response: %w", err)
	}
	if r.Status != "success" {
		if r.Error == "" {
			r.Error = fmt.Sprintf("status %q", r.Status)
		}
		return Sample{}, fmt.Errorf("HTTP %d: %s: %s", status, r.ErrorType, r.Error)
	}
	if status != http.StatusOK {
		return Sample{}, fmt.Errorf("HTTP %d", status)
	}
	missing := Sample{Value: math.NaN()}
	switch r.Data.ResultType {
	case "vector":
		var series []struct {
			Metric map[string]string `json:"metric"`
			Value  []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &series); err != nil {
			return Sample{}, fmt.Errorf("malformed vector result: %w", err)
		}
		switch len(series) {
		case 0:
			return missing, nil
		case 1:
			return parsePoint(series[0].Value)
		default:
			labels := make([]string, 0, 3)
			for i := 0; i < len(series) && i < 3; i++ {
				b, _ := json.Marshal(series[i].Metric)
				labels = append(labels, string(b))
			}
			return Sample{}, fmt.Errorf("%d series where one was expected (aggregate the query): %s", len(series), strings.Join(labels, ", "))
		}
	case "scalar":
		var point []json.RawMessage
		if err := json.Unmarshal(r.Data.Result, &point); err != nil {
			return Sample{}, fmt.Errorf("malformed scalar result: %w", err)
		}
		return parsePoint(point)
	default:
		return Sample{}, fmt.Errorf("result type %q where an instant vector or scalar was expected", r.Data.ResultType)
	}
}

func parsePoint(point []json.RawMessage) (Sample, error) {
	if len(point) != 2 {
		return Sample{}, errors.New("malformed sample: want [timestamp, \"value\"]")
	}
	var ts float64
	var text string
	if err := json.Unmarshal(point[0], &ts); err != nil {
		return Sample{}, fmt.Errorf("malformed sample timestamp: %w", err)
	}
	if err := json.Unmarshal(point[1], &text); err != nil {
		return Sample{}, fmt.Errorf("malformed sample value: %w", err)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("sample value %q is not a number", text)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = math.NaN()
	}
	return Sample{Value: v, Timestamp: ts}, nil
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
