/* A whole rollout through the C ABI: learn a profile, save and reload it, roll out
 * a healthy and a faulty release, checkpoint and restore half-way, observe in
 * batches, read contributors and the summary, and use the detectors on their own. */
#include "common.h"

#define LIVE_TICKS 120
#define FAULT_AT 15

typedef struct {
  double timestamp;
  double control[TICK_LEN];
  double canary[TICK_LEN];
} tick;

static void make_ticks(tick *ticks, size_t n, size_t fault_at) {
  service s = service_new(11);
  for (size_t k = 0; k < n; k++) {
    size_t t = HISTORY_TICKS + k;
    ticks[k].timestamp = (double)t * 3600.0;
    service_tick(&s, t, 1.0, ticks[k].control);
    service_tick(&s, t, k >= fault_at ? 1.4 : 1.0, ticks[k].canary);
  }
}

/* The fields a deployer acts on, compared exactly (a struct's padding bytes are
 * unspecified, so no memcmp). */
static int same_decision(const coalmine_decision *a, const coalmine_decision *b) {
  return a->tick == b->tick && a->timestamp == b->timestamp &&
         a->action == b->action && a->reason == b->reason &&
         a->phase == b->phase && a->alert == b->alert &&
         memcmp(&a->risk, &b->risk, sizeof a->risk) == 0 &&
         memcmp(&a->predicted_risk, &b->predicted_risk, sizeof a->risk) == 0 &&
         a->canary_share == b->canary_share &&
         a->allocation.control == b->allocation.control &&
         a->n_contributors == b->n_contributors &&
         a->evidence.ticks == b->evidence.ticks &&
         a->evidence.sufficient == b->evidence.sufficient;
}

/* Runs the ticks one call each until the rollout ends; returns how many were
 * observed. With `restart_at` > 0 the analysis is checkpointed, freed and restored
 * before that tick, as a deployer restarting would. */
static size_t run(const coalmine_profile *profile, const tick *ticks, size_t n,
                  size_t restart_at, coalmine_decision *out,
                  coalmine_verdict_report *verdict) {
  coalmine_analysis *a = start_analysis(profile);
  size_t k = 0;
  for (; k < n; k++) {
    if (restart_at > 0 && k == restart_at) {
      coalmine_bytes *saved = NULL;
      OK(coalmine_analysis_checkpoint(a, &saved));
      coalmine_analysis_free(a);
      a = NULL;
      OK(coalmine_analysis_restore(coalmine_bytes_data(saved),
                                   coalmine_bytes_len(saved), &a));
      coalmine_bytes_free(saved);
    }
    OK(coalmine_analysis_observe(a, ticks[k].timestamp, ticks[k].control,
                                 TICK_LEN, ticks[k].canary, TICK_LEN, &out[k]));
    if (out[k].phase == COALMINE_PHASE_PROMOTED ||
        out[k].phase == COALMINE_PHASE_ROLLED_BACK) {
      k++;
      break;
    }
  }
  OK(coalmine_analysis_verdict(a, verdict));
  coalmine_analysis_free(a);
  return k;
}

static void test_profile_round_trip(const coalmine_profile *profile) {
  coalmine_bytes *bytes = NULL;
  OK(coalmine_profile_to_bytes(profile, &bytes));
  EXPECT(coalmine_bytes_len(bytes) > 100);
  coalmine_profile *again = NULL;
  OK(coalmine_profile_from_bytes(coalmine_bytes_data(bytes),
                                 coalmine_bytes_len(bytes), &again));
  coalmine_bytes_free(bytes);

  coalmine_schema *schema = NULL;
  OK(coalmine_profile_schema(again, &schema));
  EXPECT(coalmine_schema_n_segments(schema) == N_SEGMENTS);
  EXPECT(coalmine_schema_n_metrics(schema) == N_METRICS);
  EXPECT(coalmine_schema_tick_len(schema) == TICK_LEN);
  char name[32];
  size_t n = 0;
  OK(coalmine_schema_metric_name(schema, 1, name, sizeof name, &n));
  EXPECT(n == strlen("latency_ms") && strcmp(name, "latency_ms") == 0);
  OK(coalmine_schema_segment_name(schema, 1, name, sizeof name, &n));
  EXPECT(strcmp(name, "pro") == 0);
  size_t index = 99;
  OK(coalmine_schema_metric_index(schema, "checkouts", 9, &index));
  EXPECT(index == 2);
  coalmine_schema_free(schema);
  coalmine_profile_free(again);
}

static void test_rollouts(const coalmine_profile *profile) {
  static tick ticks[LIVE_TICKS];
  static coalmine_decision plain[LIVE_TICKS], restarted[LIVE_TICKS],
      batched[LIVE_TICKS];
  coalmine_verdict_report verdict;

  /* Healthy: ramps through its steps and is promoted. */
  make_ticks(ticks, LIVE_TICKS, LIVE_TICKS);
  size_t n = run(profile, ticks, LIVE_TICKS, 0, plain, &verdict);
  EXPECT(verdict.verdict == COALMINE_VERDICT_PROMOTE &&
         verdict.reason == COALMINE_VERDICT_REASON_PROMOTED);
  EXPECT(verdict.has_decided_at && verdict.decided_at == n && verdict.evidence_sufficient);
  for (size_t k = 0; k < n; k++) {
    EXPECT(plain[k].action != COALMINE_ACTION_ROLLBACK);
  }
  printf("healthy release: promoted after %zu ticks, share %.2f\n", n,
         plain[n - 1].canary_share);

  /* Faulty from tick FAULT_AT: rolled back, soon after the onset. */
  make_ticks(ticks, LIVE_TICKS, FAULT_AT);
  n = run(profile, ticks, LIVE_TICKS, 0, plain, &verdict);
  EXPECT(verdict.verdict == COALMINE_VERDICT_ROLLBACK &&
         verdict.reason == COALMINE_VERDICT_REASON_ROLLED_BACK);
  EXPECT(verdict.has_because && verdict.because == plain[n - 1].reason);
  EXPECT(n > FAULT_AT && n <= FAULT_AT + 15);
  const coalmine_decision *last = &plain[n - 1];
  EXPECT(last->action == COALMINE_ACTION_ROLLBACK);
  EXPECT(last->alert != COALMINE_ALERT_NONE);
  EXPECT(last->canary_share == 0.0);
  printf("faulty release: rolled back at tick %zu (fault from %d), risk %.3f\n",
         n, FAULT_AT, last->risk);

  /* A restart half-way changes nothing. */
  size_t m = run(profile, ticks, LIVE_TICKS, FAULT_AT / 2, restarted, &verdict);
  EXPECT(m == n && verdict.verdict == COALMINE_VERDICT_ROLLBACK);
  for (size_t k = 0; k < n && k < m; k++) {
    EXPECT(same_decision(&plain[k], &restarted[k]));
  }

  /* Batches of 8 ticks give the same decisions as one tick per call. */
  coalmine_analysis *a = start_analysis(profile);
  static double ts[8], control[8 * TICK_LEN], canary[8 * TICK_LEN];
  for (size_t lo = 0; lo < n; lo += 8) {
    size_t len = n - lo < 8 ? n - lo : 8;
    for (size_t i = 0; i < len; i++) {
      ts[i] = ticks[lo + i].timestamp;
      memcpy(&control[i * TICK_LEN], ticks[lo + i].control, sizeof ticks[0].control);
      memcpy(&canary[i * TICK_LEN], ticks[lo + i].canary, sizeof ticks[0].canary);
    }
    OK(coalmine_analysis_observe_batch(a, ts, len, control, len * TICK_LEN,
                                       canary, len * TICK_LEN, &batched[lo],
                                       len));
  }
  for (size_t k = 0; k < n; k++) {
    EXPECT(same_decision(&plain[k], &batched[k]));
  }
  EXPECT(coalmine_analysis_ticks(a) == n);
  EXPECT(coalmine_analysis_peak_risk(a) >= last->risk);

  /* The contributors name the latency of a segment, and the summary says why. */
  coalmine_decision d;
  OK(coalmine_analysis_decision(a, &d));
  EXPECT(same_decision(&d, last));
  EXPECT(d.n_contributors > 0);
  for (size_t i = 0; i < d.n_contributors; i++) {
    coalmine_contributor c;
    OK(coalmine_analysis_contributor(a, i, &c));
    EXPECT(c.segment < N_SEGMENTS && c.metric < N_METRICS);
    if (i == 0) {
      EXPECT(c.metric == 1);
      EXPECT(c.deviation > 0.0);
    }
  }
  size_t len = 0;
  OK(coalmine_analysis_summary(a, NULL, 0, &len));
  char *summary = malloc(len + 1);
  OK(coalmine_analysis_summary(a, summary, len + 1, &len));
  EXPECT(strlen(summary) == len && strstr(summary, "latency_ms") != NULL);
  printf("  %s\n", summary);
  free(summary);
  double t1 = 0, t2 = 0;
  OK(coalmine_analysis_thresholds(a, &t1, &t2));
  EXPECT(t1 > 0.0 && t1 < t2);
  coalmine_analysis_free(a);
}

/* Promotion needs evidence, and ends the analysis; without evidence the verdict is
 * inconclusive and says what was missing. */
static void test_verdicts(const coalmine_profile *profile) {
  static tick ticks[LIVE_TICKS];
  make_ticks(ticks, LIVE_TICKS, LIVE_TICKS);
  coalmine_verdict_report v;
  char text[512];
  size_t n = 0;

  coalmine_analysis *a = start_analysis(profile);
  OK(coalmine_analysis_verdict(a, &v));
  EXPECT(v.verdict == COALMINE_VERDICT_INCONCLUSIVE && v.reason == COALMINE_VERDICT_REASON_NO_TICKS);
  /* No canary data at all: never a promotion, however long it runs. */
  double none[TICK_LEN];
  for (size_t i = 0; i < TICK_LEN; i++) {
    none[i] = NAN;
  }
  coalmine_decision d;
  for (size_t k = 0; k < LIVE_TICKS; k++) {
    OK(coalmine_analysis_observe(a, ticks[k].timestamp, ticks[k].control, TICK_LEN, none,
                                 TICK_LEN, &d));
  }
  OK(coalmine_analysis_verdict(a, &v));
  EXPECT(v.verdict == COALMINE_VERDICT_INCONCLUSIVE &&
         v.reason == COALMINE_VERDICT_REASON_NO_CANARY_DATA && v.canary_ticks == 0);
  OK(coalmine_analysis_verdict_explain(a, text, sizeof text, &n));
  EXPECT(strstr(text, "inconclusive") != NULL && strstr(text, "canary") != NULL);
  printf("  no canary data: %s\n", text);
  coalmine_analysis_free(a);

  /* Promoted, then every further tick is refused and nothing changes. */
  a = start_analysis(profile);
  size_t k = 0;
  do {
    OK(coalmine_analysis_observe(a, ticks[k].timestamp, ticks[k].control, TICK_LEN,
                                 ticks[k].canary, TICK_LEN, &d));
    k++;
  } while (d.phase != COALMINE_PHASE_PROMOTED && k < LIVE_TICKS);
  EXPECT(d.phase == COALMINE_PHASE_PROMOTED);
  EXPECT_STATUS(COALMINE_FINISHED,
                coalmine_analysis_observe(a, ticks[k].timestamp, ticks[k].control, TICK_LEN,
                                          ticks[k].canary, TICK_LEN, &d));
  EXPECT(coalmine_analysis_ticks(a) == k);
  OK(coalmine_analysis_verdict(a, &v));
  EXPECT(v.verdict == COALMINE_VERDICT_PROMOTE && v.decided_at == k);
  coalmine_analysis_free(a);
}

static void test_detectors(void) {
  enum { N = 400 };
  static double xs[N], expected[N], residual[N], deviation[N], tail[N];
  static bool ready[N];
  service s = service_new(5);
  double row[TICK_LEN];
  for (size_t t = 0; t < N; t++) {
    service_tick(&s, t, t == 350 ? 1.6 : 1.0, row);
    xs[t] = row[1];
  }

  /* EWMA: a batch equals one call per value, except the very first forecast. */
  coalmine_ewma *one = NULL, *many = NULL;
  OK(coalmine_ewma_new(NULL, 0, &one));
  OK(coalmine_ewma_new("{\"alpha\": 0.1}", 14, &many));
  OK(coalmine_ewma_observe_batch(many, xs, N, expected, residual, deviation,
                                 tail, ready, N));
  EXPECT(isnan(expected[0]));
  for (size_t t = 0; t < N; t++) {
    coalmine_anomaly a;
    OK(coalmine_ewma_observe(one, xs[t], &a));
    if (t > 0) {
      EXPECT(a.expected == expected[t] && a.tail_probability == tail[t] &&
             a.ready == ready[t]);
    }
  }
  EXPECT(coalmine_ewma_observations(many) == N);
  coalmine_ewma_free(one);
  coalmine_ewma_free(many);

  /* Holt-Winters from 10 days of history; the spike at t = 350 is flagged. */
  coalmine_holt_winters *hw = NULL;
  const char *cfg = "{\"season_length\": 24}";
  OK(coalmine_holt_winters_fit(cfg, strlen(cfg), NULL, 0, xs, 240, &hw));
  OK(coalmine_holt_winters_observe_batch(hw, xs + 240, N - 240, expected,
                                         residual, deviation, tail, ready,
                                         N - 240));
  EXPECT(tail[350 - 240] < 1e-6);
  EXPECT(tail[300 - 240] > 1e-3);
  double f = 0.0;
  OK(coalmine_holt_winters_forecast(hw, 1, &f));
  EXPECT(f > 50.0 && f < 250.0);
  coalmine_holt_winters_free(hw);
}

/* Counts behind the values: unknown (NaN) counts change nothing, a count of 0 is
 * the value missing, and a negative count or a wrong length is refused with the
 * analysis untouched. */
static void test_counts(const coalmine_profile *profile) {
  enum { N = 30 };
  static tick ticks[N];
  make_ticks(ticks, N, 10);
  double unknown[TICK_LEN], zero_first[TICK_LEN], negative[TICK_LEN];
  for (size_t i = 0; i < TICK_LEN; i++) {
    unknown[i] = zero_first[i] = negative[i] = NAN;
  }
  zero_first[0] = 0.0;
  negative[2] = -1.0;
  coalmine_analysis *plain = start_analysis(profile);
  coalmine_analysis *with_unknown = start_analysis(profile);
  coalmine_analysis *with_zero = start_analysis(profile);
  coalmine_analysis *nan_first = start_analysis(profile);
  for (size_t k = 0; k < N; k++) {
    const tick *t = &ticks[k];
    coalmine_decision d[4];
    OK(coalmine_analysis_observe(plain, t->timestamp, t->control, TICK_LEN,
                                 t->canary, TICK_LEN, &d[0]));
    OK(coalmine_analysis_observe_counts(
        with_unknown, t->timestamp, t->control, TICK_LEN, t->canary, TICK_LEN,
        unknown, TICK_LEN, unknown, TICK_LEN, &d[1]));
    OK(coalmine_analysis_observe_counts(
        with_zero, t->timestamp, t->control, TICK_LEN, t->canary, TICK_LEN,
        NULL, 0, zero_first, TICK_LEN, &d[2]));
    double canary[TICK_LEN];
    memcpy(canary, t->canary, sizeof canary);
    canary[0] = NAN;
    OK(coalmine_analysis_observe(nan_first, t->timestamp, t->control, TICK_LEN,
                                 canary, TICK_LEN, &d[3]));
    EXPECT(same_decision(&d[0], &d[1]));
    EXPECT(same_decision(&d[2], &d[3]));
    EXPECT(d[2].evidence.missing == d[0].evidence.missing + 1);
  }
  const tick *t = &ticks[0];
  double next = ticks[N - 1].timestamp + 3600.0;
  coalmine_decision d;
  EXPECT_STATUS(COALMINE_INVALID_COUNT,
                coalmine_analysis_observe_counts(
                    plain, next, t->control, TICK_LEN, t->canary, TICK_LEN,
                    negative, TICK_LEN, NULL, 0, &d));
  EXPECT_STATUS(COALMINE_LENGTH_MISMATCH,
                coalmine_analysis_observe_counts(
                    plain, next, t->control, TICK_LEN, t->canary, TICK_LEN,
                    NULL, 0, unknown, TICK_LEN - 1, &d));
  EXPECT(coalmine_analysis_ticks(plain) == N);
  OK(coalmine_analysis_observe_counts(plain, next, t->control, TICK_LEN,
                                      t->canary, TICK_LEN, unknown, TICK_LEN,
                                      unknown, TICK_LEN, &d));
  EXPECT(coalmine_analysis_ticks(plain) == N + 1);
  coalmine_analysis_free(plain);
  coalmine_analysis_free(with_unknown);
  coalmine_analysis_free(with_zero);
  coalmine_analysis_free(nan_first);
}

/* A batch with counts decides as the same ticks with counts one by one, and a
 * builder fed one-minute timestamps learns a 60-second tick interval. */
static void test_batch_counts_and_timestamps(const coalmine_profile *profile) {
  enum { N = 40 };
  static tick ticks[N];
  make_ticks(ticks, N, 20);
  static double ts[N], control[N * TICK_LEN], canary[N * TICK_LEN],
      control_counts[N * TICK_LEN], canary_counts[N * TICK_LEN];
  for (size_t k = 0; k < N; k++) {
    ts[k] = ticks[k].timestamp;
    memcpy(&control[k * TICK_LEN], ticks[k].control, sizeof ticks[k].control);
    memcpy(&canary[k * TICK_LEN], ticks[k].canary, sizeof ticks[k].canary);
    for (size_t i = 0; i < TICK_LEN; i++) {
      size_t r = (5 * k + 3 * i) % 13;
      control_counts[k * TICK_LEN + i] = r == 4 ? NAN : 800.0 + 10.0 * (double)r;
      canary_counts[k * TICK_LEN + i] = r == 7 ? 0.0 : 20.0 + 3.0 * (double)r;
    }
  }
  coalmine_analysis *one = start_analysis(profile);
  static coalmine_decision want[N], got[N];
  size_t n_want = 0;
  for (size_t k = 0; k < N; k++) {
    OK(coalmine_analysis_observe_counts(
        one, ts[k], &control[k * TICK_LEN], TICK_LEN, &canary[k * TICK_LEN],
        TICK_LEN, &control_counts[k * TICK_LEN], TICK_LEN,
        &canary_counts[k * TICK_LEN], TICK_LEN, &want[n_want]));
    if (want[n_want++].phase == COALMINE_PHASE_PROMOTED) {
      break;
    }
  }
  coalmine_analysis *many = start_analysis(profile);
  size_t observed = 0;
  OK(coalmine_analysis_observe_batch_counts(
      many, ts, N, control, N * TICK_LEN, canary, N * TICK_LEN, control_counts,
      N * TICK_LEN, canary_counts, N * TICK_LEN, got, N, &observed));
  EXPECT(observed == n_want);
  for (size_t k = 0; k < n_want && k < observed; k++) {
    EXPECT(same_decision(&want[k], &got[k]));
  }
  EXPECT(coalmine_analysis_ticks(many) == n_want);
  coalmine_analysis_free(one);
  coalmine_analysis_free(many);

  coalmine_schema *schema = NULL;
  coalmine_profile_builder *builder = NULL;
  coalmine_profile *timed = NULL;
  OK(coalmine_schema_from_toml(SCHEMA_TOML, strlen(SCHEMA_TOML), &schema));
  OK(coalmine_profile_builder_new(schema, PROFILE_CONFIG,
                                  strlen(PROFILE_CONFIG), &builder));
  coalmine_schema_free(schema);
  service s = service_new(7);
  double row[TICK_LEN];
  for (size_t t = 0; t < HISTORY_TICKS; t++) {
    service_tick(&s, t, 1.0, row);
    OK(coalmine_profile_builder_push_tick_at(builder, 1.7e9 + 60.0 * (double)t,
                                             row, TICK_LEN));
  }
  EXPECT_STATUS(COALMINE_TIMESTAMP,
                coalmine_profile_builder_push_tick_at(builder, 1.7e9, row, TICK_LEN));
  OK(coalmine_profile_builder_build(builder, &timed));
  EXPECT(coalmine_profile_tick_interval(timed) == 60.0);
  EXPECT(isnan(coalmine_profile_tick_interval(profile)));
  printf("timestamped history: tick interval %.0f s\n",
         coalmine_profile_tick_interval(timed));
  coalmine_profile_free(timed);
  coalmine_profile_builder_free(builder);
}

int main(void) {
  const char *version = coalmine_version();
  EXPECT(version != NULL && strlen(version) >= 5);
  printf("coalmine %s\n", version);
  coalmine_profile *profile = learn_profile();
  test_profile_round_trip(profile);
  test_rollouts(profile);
  test_verdicts(profile);
  test_counts(profile);
  test_batch_counts_and_timestamps(profile);
  test_detectors();
  coalmine_profile_free(profile);
  if (failures > 0) {
    fprintf(stderr, "rollout: %d check(s) failed\n", failures);
    return 1;
  }
  printf("rollout: all checks passed\n");
  return 0;
}
