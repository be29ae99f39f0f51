package provider

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseQueryResponse(t *testing.T) {
	ok := func(body string) Sample {
		t.Helper()
		s, err := ParseQueryResponse(200, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		return s
	}
	if s := ok(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000060.5,"0.25"]}]}}`); s.Value != 0.25 || s.Timestamp != 1700000060.5 {
		t.Fatalf("%+v", s)
	}
	if s := ok(`{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`); s.Value != 3 || s.Timestamp != 1700000000 {
		t.Fatalf("%+v", s)
	}
	for _, missing := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]}}`,
	} {
		if s := ok(missing); !math.IsNaN(s.Value) {
			t.Errorf("%s: %+v, want missing", missing, s)
		}
	}
	for _, c := range []struct {
		status     int
		body, want string
	}{
		{400, `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`, "HTTP 400: bad_data: parse error at char 5"},
		{503, `Service Unavailable`, "HTTP 503: Service Unavailable"},
		{200, `<html>`, "not a Prometheus API response"},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1,"1"]},{"metric":{"pod":"b"},"value":[1,"2"]}]}}`, "2 series where one was expected"},
		{200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`, `result type "matrix"`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`, `"x" is not a number`},
		{200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}}`, "malformed sample"},
	} {
		_, err := ParseQueryResponse(c.status, []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%d %s: %v, want %q", c.status, c.body, err, c.want)
		}
	}
}

func TestPrometheusQuery(t *testing.T) {
	var gotQuery, gotTime, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prom/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		gotQuery, gotTime, gotAuth = r.Form.Get("query"), r.Form.Get("time"), r.Header.Get("Authorization")
		if strings.Contains(gotQuery, "slow") {
			time.Sleep(300 * time.Millisecond)
		}
		w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"7"]}]}}`))
	}))
	defer srv.Close()
	t.Setenv("COALMINE_TEST_TOKEN", "s3cret")
	cfg, err := ParseConfig([]byte(`{"prometheus": {"url": "` + srv.URL + `/prom/", "timeout": "100ms", "bearerTokenEnv": "COALMINE_TEST_TOKEN"}, "profile": "p", "cohorts": {"control": "a", "canary": "b"}, "queries": {"m": "{cohort}"}}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPrometheus(cfg.Prometheus)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Query(context.Background(), `up{job="x"}`, time.UnixMilli(1700000000250))
	if err != nil || s.Value != 7 {
		t.Fatalf("%+v %v", s, err)
	}
	if gotQuery != `up{job="x"}` || gotTime != "1700000000.250" || gotAuth != "Bearer s3cret" {
		t.Fatalf("query %q time %q auth %q", gotQuery, gotTime, gotAuth)
	}
	if _, err := p.Query(context.Background(), "slow_query", time.Now()); err == nil || !strings.Contains(err.Error(), `query "slow_query"`) || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("timeout: %v", err)
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	cfg.Prometheus.URL = down.URL
	p, _ = NewPrometheus(cfg.Prometheus)
	if _, err := p.Query(context.Background(), "up", time.Now()); err == nil || !strings.Contains(err.Error(), `query "up"`) {
		t.Fatalf("unreachable: %v", err)
	}
	t.Setenv("COALMINE_TEST_TOKEN", "")
	if _, err := NewPrometheus(cfg.Prometheus); err == nil || !strings.Contains(err.Error(), "COALMINE_TEST_TOKEN") {
		t.Fatalf("empty token: %v", err)
	}
}
