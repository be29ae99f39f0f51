/* Helpers shared by the C tests: checks that name the failing line and status, and a
 * small deterministic service (a daily cycle of 24 ticks with noise) to learn from
 * and roll out to. */
#ifndef COALMINE_TEST_COMMON_H
#define COALMINE_TEST_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalmine.h"

static int failures = 0;

static inline void print_last_error(void) {
  char msg[512];
  size_t n = 0;
  if (coalmine_last_error(msg, sizeof msg, &n) == COALMINE_OK) {
    fprintf(stderr, "    last error: %s\n", msg);
  }
}

/* A call that must succeed. */
#define OK(call)                                                               \
  do {                                                                         \
    coalmine_status s_ = (call);                                               \
    if (s_ != COALMINE_OK) {                                                   \
      fprintf(stderr, "%s:%d: %s returned %u\n", __FILE__, __LINE__, #call,    \
              (unsigned)s_);                                                   \
      print_last_error();                                                      \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* A call that must fail with `want`. */
#define EXPECT_STATUS(want, call)                                              \
  do {                                                                         \
    coalmine_status s_ = (call);                                               \
    if (s_ != (coalmine_status)(want)) {                                       \
      fprintf(stderr, "%s:%d: %s returned %u, expected %s (%u)\n", __FILE__,   \
              __LINE__, #call, (unsigned)s_, #want, (unsigned)(want));         \
      print_last_error();                                                      \
      failures++;                                                              \
    }                                                                          \
  } while (0)

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);      \
      failures++;                                                              \
    }                                                                          \
  } while (0)

#define N_SEGMENTS 2
#define N_METRICS 3
#define TICK_LEN (N_SEGMENTS * N_METRICS)
#define HISTORY_TICKS (24 * 14)

static const char SCHEMA_TOML[] =
    "[[metrics]]\n"
    "name = \"error_rate\"\n"
    "direction = \"increase_is_bad\"\n"
    "kind = \"ratio\"\n"
    "[[metrics]]\n"
    "name = \"latency_ms\"\n"
    "direction = \"increase_is_bad\"\n"
    "[[metrics]]\n"
    "name = \"checkouts\"\n"
    "direction = \"decrease_is_bad\"\n"
    "kind = \"count\"\n"
    "[[segments]]\n"
    "name = \"free\"\n"
    "weight = 1.0\n"
    "[[segments]]\n"
    "name = \"pro\"\n"
    "weight = 2.0\n";

static const char PROFILE_CONFIG[] = "{\"candidate_periods\": [24]}";
static const char ANALYSIS_CONFIG[] =
    "{\"traffic\": {\"steps\": [0.05, 0.25, 0.5, 1.0], \"min_dwell_ticks\": 10, "
    "\"min_evidence_ticks\": 8}}";

typedef struct {
  uint64_t state;
} service;

static inline service service_new(uint64_t seed) {
  service s;
  s.state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  return s;
}

static inline double uniform(service *s) {
  s->state = s->state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(s->state >> 11) / 9007199254740992.0;
}

static inline double noise(service *s) {
  return uniform(s) + uniform(s) + uniform(s) + uniform(s) - 2.0;
}

/* One tick of the service at absolute tick `t`: TICK_LEN values. */
static inline void service_tick(service *s, size_t t, double latency_factor,
                         double *out) {
  double day = sin(6.283185307179586 * (double)(t % 24) / 24.0);
  for (size_t seg = 0; seg < N_SEGMENTS; seg++) {
    double load = 1.0 + 0.3 * day + 0.1 * (double)seg;
    double err = 0.01 + 0.002 * noise(s);
    double checkouts = 200.0 * load + 10.0 * noise(s);
    out[seg * N_METRICS + 0] = err < 0.0 ? 0.0 : err;
    out[seg * N_METRICS + 1] = latency_factor * (120.0 * load + 4.0 * noise(s));
    out[seg * N_METRICS + 2] = checkouts < 0.0 ? 0.0 : checkouts;
  }
}

/* Learns the service's profile through the ABI. */
static inline coalmine_profile *learn_profile(void) {
  coalmine_schema *schema = NULL;
  coalmine_profile_builder *builder = NULL;
  coalmine_profile *profile = NULL;
  OK(coalmine_schema_from_toml(SCHEMA_TOML, strlen(SCHEMA_TOML), &schema));
  OK(coalmine_profile_builder_new(schema, PROFILE_CONFIG,
                                  strlen(PROFILE_CONFIG), &builder));
  coalmine_schema_free(schema);
  service s = service_new(7);
  double row[TICK_LEN];
  for (size_t t = 0; t < HISTORY_TICKS; t++) {
    service_tick(&s, t, 1.0, row);
    OK(coalmine_profile_builder_push_tick(builder, row, TICK_LEN));
  }
  OK(coalmine_profile_builder_build(builder, &profile));
  coalmine_profile_builder_free(builder);
  return profile;
}

static inline coalmine_analysis *start_analysis(const coalmine_profile *profile) {
  coalmine_analysis *a = NULL;
  OK(coalmine_analysis_new(profile, ANALYSIS_CONFIG, strlen(ANALYSIS_CONFIG),
                           &a));
  return a;
}

#endif
