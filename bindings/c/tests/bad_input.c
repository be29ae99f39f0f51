/* The bad-input catalogue of the C ABI: NULL handles and pointers, wrong lengths,
 * NaN and infinities, out-of-order ticks, corrupt and foreign profiles and
 * checkpoints, bad specs and configurations, small buffers, out-of-range indices and
 * freed handles. Each case checks its status, that outputs are left untouched, and
 * that the handle stays usable. Run under valgrind and AddressSanitizer too. */
#include "common.h"

static coalmine_profile *profile;

/* Copies `text` with its first `from` replaced by `to`, into a new buffer. */
static char *replace_first(const char *text, size_t len, const char *from,
                           const char *to, size_t *out_len) {
  const char *at = strstr(text, from);
  if (at == NULL) {
    fprintf(stderr, "`%s` not found\n", from);
    exit(1);
  }
  size_t head = (size_t)(at - text), fl = strlen(from), tl = strlen(to);
  *out_len = len - fl + tl;
  char *out = malloc(*out_len + 1);
  memcpy(out, text, head);
  memcpy(out + head, to, tl);
  memcpy(out + head + tl, at + fl, len - head - fl);
  out[*out_len] = 0;
  return out;
}

/* Copies `text` with its format version replaced by one no build writes. */
static char *bump_version(const char *text, size_t len, size_t *out_len) {
  const char *key = "\"version\":";
  const char *at = strstr(text, key);
  if (at == NULL) {
    fprintf(stderr, "no version field\n");
    exit(1);
  }
  at += strlen(key);
  size_t digits = strspn(at, "0123456789");
  char old[32];
  if (digits == 0 || digits >= sizeof old) {
    fprintf(stderr, "no version number\n");
    exit(1);
  }
  memcpy(old, at - strlen(key), strlen(key) + digits);
  old[strlen(key) + digits] = 0;
  return replace_first(text, len, old, "\"version\":999", out_len);
}

static void last_error_contains(const coalmine_analysis *a, const char *needle) {
  char msg[512];
  size_t n = 0;
  OK(coalmine_analysis_last_error(a, msg, sizeof msg, &n));
  if (strstr(msg, needle) == NULL) {
    fprintf(stderr, "analysis last error `%s` lacks `%s`\n", msg, needle);
    failures++;
  }
}

static void test_null_pointers(void) {
  double row[TICK_LEN] = {0};
  coalmine_schema *schema = NULL;
  coalmine_profile_builder *builder = NULL;
  coalmine_profile *p = NULL;
  coalmine_analysis *a = NULL;
  coalmine_bytes *bytes = NULL;
  coalmine_ewma *ewma = NULL;
  coalmine_holt_winters *hw = NULL;
  coalmine_decision d;
  coalmine_contributor c;
  coalmine_anomaly an;
  coalmine_verdict_report v;
  size_t n = 0;
  double x = 0;
  char buf[16];
  bool flag[1];

  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_schema_from_json(NULL, 5, &schema));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_schema_from_toml(SCHEMA_TOML, strlen(SCHEMA_TOML), NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_schema_metric_name(NULL, 0, buf, sizeof buf, &n));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_schema_metric_index(NULL, "a", 1, &n));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_schema_segment_index(NULL, "a", 1, &n));
  EXPECT(coalmine_schema_n_metrics(NULL) == 0 && coalmine_schema_tick_len(NULL) == 0);
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_builder_new(NULL, NULL, 0, &builder));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_builder_push_tick(NULL, row, TICK_LEN));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_builder_build(NULL, &p));
  EXPECT(coalmine_profile_builder_ticks(NULL) == 0);
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_from_bytes(NULL, 10, &p));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_to_bytes(NULL, &bytes));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_to_bytes(profile, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_schema(NULL, &schema));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_new(NULL, NULL, 0, &a));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_new(profile, NULL, 0, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe(NULL, 1.0, row, TICK_LEN, row, TICK_LEN, &d));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe_batch(NULL, &x, 1, row, TICK_LEN, row, TICK_LEN, &d, 1));
  size_t observed = 0;
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe_batch_counts(NULL, &x, 1, row, TICK_LEN, row, TICK_LEN, NULL, 0, NULL, 0, &d, 1, &observed));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_profile_builder_push_tick_at(NULL, 1.0, row, TICK_LEN));
  EXPECT(isnan(coalmine_profile_tick_interval(NULL)));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_decision(NULL, &d));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_contributor(NULL, 0, &c));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_verdict(NULL, &v));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_summary(NULL, buf, sizeof buf, &n));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_checkpoint(NULL, &bytes));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_restore(NULL, 10, &a));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_thresholds(NULL, &x, &x));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_last_error(NULL, buf, sizeof buf, &n));
  EXPECT(coalmine_analysis_ticks(NULL) == 0 && isnan(coalmine_analysis_peak_risk(NULL)));
  EXPECT(coalmine_bytes_data(NULL) == NULL && coalmine_bytes_len(NULL) == 0);
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_new(NULL, 0, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_observe(NULL, 1.0, &an));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_observe_batch(NULL, &x, 1, &x, &x, &x, &x, flag, 1));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_last_error(NULL, buf, sizeof buf, &n));
  EXPECT(coalmine_ewma_observations(NULL) == 0);
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_holt_winters_new(NULL, 0, NULL, 10, &hw));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_holt_winters_observe(NULL, 1.0, &an));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_holt_winters_forecast(NULL, 1, &x));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_holt_winters_last_error(NULL, buf, sizeof buf, &n));
  EXPECT(coalmine_holt_winters_observations(NULL) == 0);
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_status_message(0, buf, sizeof buf, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_last_error(NULL, 4, &n));
  /* Nothing was created by any of these. */
  EXPECT(schema == NULL && builder == NULL && p == NULL && a == NULL &&
         bytes == NULL && ewma == NULL && hw == NULL);
  /* Freeing NULL is allowed. */
  coalmine_schema_free(NULL);
  coalmine_profile_builder_free(NULL);
  coalmine_profile_free(NULL);
  coalmine_analysis_free(NULL);
  coalmine_bytes_free(NULL);
  coalmine_ewma_free(NULL);
  coalmine_holt_winters_free(NULL);

  /* NULL pointers inside otherwise valid calls. */
  a = start_analysis(profile);
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe(a, 1.0, NULL, TICK_LEN, row, TICK_LEN, &d));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe(a, 1.0, row, TICK_LEN, row, TICK_LEN, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_decision(a, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_verdict(a, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_thresholds(a, &x, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_summary(a, NULL, 8, &n));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_summary(a, buf, sizeof buf, NULL));
  EXPECT(coalmine_analysis_ticks(a) == 0);
  coalmine_analysis_free(a);
  OK(coalmine_ewma_new(NULL, 0, &ewma));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_observe(ewma, 1.0, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_observe_batch(ewma, &x, 1, &x, NULL, &x, &x, flag, 1));
  EXPECT(coalmine_ewma_observations(ewma) == 0);
  coalmine_ewma_free(ewma);
}

static void test_specs_and_configs(void) {
  coalmine_schema *schema = NULL;
  const char *dup = "{\"metrics\":[{\"name\":\"a\"},{\"name\":\"a\"}],\"segments\":[{\"name\":\"s\"}]}";
  const char *unknown_feature = "{\"metrics\":[{\"name\":\"a\",\"feature\":\"f\"}],\"segments\":[{\"name\":\"s\"}]}";
  const char *no_metrics = "{\"metrics\":[],\"segments\":[{\"name\":\"s\"}]}";
  const char *bad_weight = "{\"metrics\":[{\"name\":\"a\"}],\"segments\":[{\"name\":\"s\",\"weight\":-1}]}";
  const char *unknown_key = "{\"metrics\":[{\"name\":\"a\",\"colour\":1}],\"segments\":[{\"name\":\"s\"}]}";
  const char *bad_toml = "[[metrics]\nname = ";
  const char not_utf8[] = {'{', (char)0xff, '}'};
  EXPECT_STATUS(COALMINE_DUPLICATE, coalmine_schema_from_json(dup, strlen(dup), &schema));
  EXPECT_STATUS(COALMINE_UNKNOWN_NAME, coalmine_schema_from_json(unknown_feature, strlen(unknown_feature), &schema));
  EXPECT_STATUS(COALMINE_INSUFFICIENT_DATA, coalmine_schema_from_json(no_metrics, strlen(no_metrics), &schema));
  EXPECT_STATUS(COALMINE_INVALID_PARAMETER, coalmine_schema_from_json(bad_weight, strlen(bad_weight), &schema));
  EXPECT_STATUS(COALMINE_PARSE_ERROR, coalmine_schema_from_json(unknown_key, strlen(unknown_key), &schema));
  EXPECT_STATUS(COALMINE_PARSE_ERROR, coalmine_schema_from_json(NULL, 0, &schema));
  EXPECT_STATUS(COALMINE_PARSE_ERROR, coalmine_schema_from_toml(bad_toml, strlen(bad_toml), &schema));
  EXPECT_STATUS(COALMINE_INVALID_UTF8, coalmine_schema_from_json(not_utf8, sizeof not_utf8, &schema));
  EXPECT(schema == NULL);

  coalmine_analysis *a = NULL;
  const char *thresholds = "{\"policy\": {\"pause_at\": 0.9, \"rollback_at\": 0.5}}";
  const char *typo = "{\"polcy\": {}}";
  const char *truncated = "{\"policy\": {";
  EXPECT_STATUS(COALMINE_INVALID_PARAMETER, coalmine_analysis_new(profile, thresholds, strlen(thresholds), &a));
  EXPECT_STATUS(COALMINE_PARSE_ERROR, coalmine_analysis_new(profile, typo, strlen(typo), &a));
  EXPECT_STATUS(COALMINE_PARSE_ERROR, coalmine_analysis_new(profile, truncated, strlen(truncated), &a));
  EXPECT_STATUS(COALMINE_INVALID_UTF8, coalmine_analysis_new(profile, not_utf8, sizeof not_utf8, &a));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_new(profile, NULL, 12, &a));
  EXPECT(a == NULL);
  char msg[256];
  size_t n = 0;
  OK(coalmine_last_error(msg, sizeof msg, &n));
  EXPECT(strstr(msg, "config") != NULL);

  coalmine_ewma *e = NULL;
  EXPECT_STATUS(COALMINE_INVALID_PARAMETER, coalmine_ewma_new("{\"alpha\": 2}", 12, &e));
  EXPECT_STATUS(COALMINE_INVALID_PARAMETER, coalmine_ewma_new("{\"alpha\": 0}", 12, &e));
  EXPECT(e == NULL);
  coalmine_holt_winters *hw = NULL;
  double history[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_STATUS(COALMINE_INSUFFICIENT_DATA, coalmine_holt_winters_new("{\"season_length\": 24}", 21, history, 10, &hw));
  EXPECT_STATUS(COALMINE_INVALID_PARAMETER, coalmine_holt_winters_new("{\"season_length\": 0}", 20, history, 10, &hw));
  EXPECT_STATUS(COALMINE_TOO_LARGE, coalmine_holt_winters_new("{\"season_length\": 1000000000}", 29, history, 10, &hw));
  EXPECT(hw == NULL);

  /* Too little history for a profile: the builder keeps the reason. */
  coalmine_profile_builder *b = NULL;
  OK(coalmine_schema_from_toml(SCHEMA_TOML, strlen(SCHEMA_TOML), &schema));
  OK(coalmine_profile_builder_new(schema, NULL, 0, &b));
  double row[TICK_LEN] = {0.01, 100, 200, 0.01, 100, 200};
  OK(coalmine_profile_builder_push_tick(b, row, TICK_LEN));
  coalmine_profile *p = NULL;
  EXPECT_STATUS(COALMINE_INSUFFICIENT_DATA, coalmine_profile_builder_build(b, &p));
  EXPECT(p == NULL);
  OK(coalmine_profile_builder_last_error(b, msg, sizeof msg, &n));
  EXPECT(n > 0 && strstr(msg, "not enough data") != NULL);
  /* Bad history ticks are refused and not added. */
  EXPECT_STATUS(COALMINE_LENGTH_MISMATCH, coalmine_profile_builder_push_tick(b, row, TICK_LEN - 1));
  row[0] = -0.5;
  EXPECT_STATUS(COALMINE_INVALID_VALUE, coalmine_profile_builder_push_tick(b, row, TICK_LEN));
  row[0] = INFINITY;
  EXPECT_STATUS(COALMINE_NON_FINITE, coalmine_profile_builder_push_tick(b, row, TICK_LEN));
  row[0] = NAN;
  OK(coalmine_profile_builder_push_tick(b, row, TICK_LEN));
  EXPECT(coalmine_profile_builder_ticks(b) == 2);
  /* Timestamps after ticks without one are refused: every tick has one or none does. */
  EXPECT_STATUS(COALMINE_INVALID_VALUE, coalmine_profile_builder_push_tick_at(b, 60.0, row, TICK_LEN));
  EXPECT(coalmine_profile_builder_ticks(b) == 2);
  coalmine_profile_builder_free(b);
  OK(coalmine_profile_builder_new(schema, NULL, 0, &b));
  row[0] = 0.01;
  OK(coalmine_profile_builder_push_tick_at(b, 60.0, row, TICK_LEN));
  EXPECT_STATUS(COALMINE_TIMESTAMP, coalmine_profile_builder_push_tick_at(b, 60.0, row, TICK_LEN));
  EXPECT_STATUS(COALMINE_NON_FINITE, coalmine_profile_builder_push_tick_at(b, INFINITY, row, TICK_LEN));
  EXPECT_STATUS(COALMINE_INVALID_VALUE, coalmine_profile_builder_push_tick(b, row, TICK_LEN));
  EXPECT(coalmine_profile_builder_ticks(b) == 1);
  coalmine_profile_builder_free(b);
  coalmine_schema_free(schema);
}

static void test_ticks(void) {
  coalmine_analysis *a = start_analysis(profile);
  service s = service_new(3);
  double control[TICK_LEN], canary[TICK_LEN];
  coalmine_decision d, sentinel;
  memset(&sentinel, 0xAB, sizeof sentinel);

  service_tick(&s, HISTORY_TICKS, 1.0, control);
  service_tick(&s, HISTORY_TICKS, 1.0, canary);
  OK(coalmine_analysis_observe(a, 1000.0, control, TICK_LEN, canary, TICK_LEN, &d));

  /* Each rejected tick: its status, no output, nothing changed. */
  struct {
    double timestamp;
    size_t index;
    double value;
    size_t control_len, canary_len;
    coalmine_status want;
    const char *message;
  } cases[] = {
      {1000.0, 0, 0.01, TICK_LEN, TICK_LEN, COALMINE_TIMESTAMP, "not after"},
      {999.0, 0, 0.01, TICK_LEN, TICK_LEN, COALMINE_TIMESTAMP, "not after"},
      {NAN, 0, 0.01, TICK_LEN, TICK_LEN, COALMINE_NON_FINITE, "timestamp"},
      {INFINITY, 0, 0.01, TICK_LEN, TICK_LEN, COALMINE_NON_FINITE, "timestamp"},
      {2000.0, 1, INFINITY, TICK_LEN, TICK_LEN, COALMINE_NON_FINITE, "non-finite"},
      {2000.0, 1, -INFINITY, TICK_LEN, TICK_LEN, COALMINE_NON_FINITE, "non-finite"},
      {2000.0, 1, 1e101, TICK_LEN, TICK_LEN, COALMINE_OUT_OF_RANGE, "magnitude"},
      {2000.0, 2, -3.0, TICK_LEN, TICK_LEN, COALMINE_INVALID_VALUE, "negative"},
      {2000.0, 0, 1.5, TICK_LEN, TICK_LEN, COALMINE_INVALID_VALUE, "ratio"},
      {2000.0, 0, 0.01, TICK_LEN - 1, TICK_LEN, COALMINE_LENGTH_MISMATCH, "length mismatch"},
      {2000.0, 0, 0.01, TICK_LEN, TICK_LEN + 1, COALMINE_LENGTH_MISMATCH, "length mismatch"},
      {2000.0, 0, 0.01, TICK_LEN, 0, COALMINE_LENGTH_MISMATCH, "length mismatch"},
  };
  /* One spare value, so that a too-long length still reads valid memory. */
  static double k[TICK_LEN + 1];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    service_tick(&s, HISTORY_TICKS + 1, 1.0, control);
    service_tick(&s, HISTORY_TICKS + 1, 1.0, k);
    k[TICK_LEN] = 1.0;
    k[cases[i].index] = cases[i].value;
    d = sentinel;
    EXPECT_STATUS(cases[i].want,
                  coalmine_analysis_observe(a, cases[i].timestamp, control,
                                            cases[i].control_len, k,
                                            cases[i].canary_len, &d));
    EXPECT(memcmp(&d, &sentinel, sizeof d) == 0);
    EXPECT(coalmine_analysis_ticks(a) == 1);
    last_error_contains(a, cases[i].message);
  }

  /* A length no memory can hold is refused before anything is read. */
  d = sentinel;
  EXPECT_STATUS(COALMINE_TOO_LARGE, coalmine_analysis_observe(a, 2000.0, control, TICK_LEN, k, SIZE_MAX, &d));
  EXPECT_STATUS(COALMINE_TOO_LARGE, coalmine_analysis_observe_batch(a, control, SIZE_MAX, control, TICK_LEN, k, TICK_LEN, &d, SIZE_MAX));
  EXPECT(memcmp(&d, &sentinel, sizeof d) == 0 && coalmine_analysis_ticks(a) == 1);

  /* NaN is a missing value, not an error: counted, and all-NaN is "no data". */
  service_tick(&s, HISTORY_TICKS + 1, 1.0, control);
  service_tick(&s, HISTORY_TICKS + 1, 1.0, canary);
  canary[4] = NAN;
  OK(coalmine_analysis_observe(a, 2000.0, control, TICK_LEN, canary, TICK_LEN, &d));
  EXPECT(d.evidence.missing == 1 && d.tick == 2);
  for (size_t i = 0; i < TICK_LEN; i++) {
    canary[i] = NAN;
  }
  OK(coalmine_analysis_observe(a, 3000.0, control, TICK_LEN, canary, TICK_LEN, &d));
  EXPECT(d.reason == COALMINE_REASON_NO_DATA && d.evidence.observed == 0);
  EXPECT(d.action == COALMINE_ACTION_CONTINUE);

  /* Batches: lengths that are not whole rows, too little room, a bad tick inside
   * (nothing applied), then a good batch. */
  double ts[3] = {4000.0, 5000.0, 6000.0};
  static double rows_c[3 * TICK_LEN], rows_k[3 * TICK_LEN];
  for (size_t i = 0; i < 3; i++) {
    service_tick(&s, HISTORY_TICKS + 2 + i, 1.0, &rows_c[i * TICK_LEN]);
    service_tick(&s, HISTORY_TICKS + 2 + i, 1.0, &rows_k[i * TICK_LEN]);
  }
  coalmine_decision out[3];
  memset(out, 0xAB, sizeof out);
  EXPECT_STATUS(COALMINE_LENGTH_MISMATCH, coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN - 1, rows_k, 3 * TICK_LEN, out, 3));
  EXPECT_STATUS(COALMINE_LENGTH_MISMATCH, coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN, rows_k, 2 * TICK_LEN, out, 3));
  EXPECT_STATUS(COALMINE_BUFFER_TOO_SMALL, coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, out, 2));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, NULL, 3));
  rows_k[2 * TICK_LEN + 1] = NAN;
  rows_k[2 * TICK_LEN + 2] = -1.0;
  EXPECT_STATUS(COALMINE_INVALID_VALUE, coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, out, 3));
  last_error_contains(a, "tick 2 of the batch");
  ts[1] = ts[0];
  rows_k[2 * TICK_LEN + 2] = 150.0;
  EXPECT_STATUS(COALMINE_TIMESTAMP, coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, out, 3));
  last_error_contains(a, "tick 1 of the batch");
  coalmine_decision untouched[3];
  memset(untouched, 0xAB, sizeof untouched);
  EXPECT(memcmp(out, untouched, sizeof out) == 0);
  EXPECT(coalmine_analysis_ticks(a) == 3);
  ts[1] = 5000.0;
  OK(coalmine_analysis_observe_batch(a, ts, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, out, 3));
  EXPECT(coalmine_analysis_ticks(a) == 6 && out[2].tick == 6);
  OK(coalmine_analysis_observe_batch(a, NULL, 0, NULL, 0, NULL, 0, NULL, 0));
  EXPECT(coalmine_analysis_ticks(a) == 6);
  /* With counts: a bad count is refused whole and names its tick, `observed` is
   * required, counts not laid out like the values are a length mismatch. */
  static double counts_c[3 * TICK_LEN], counts_k[3 * TICK_LEN];
  for (size_t i = 0; i < 3 * TICK_LEN; i++) {
    counts_c[i] = 500.0;
    counts_k[i] = 25.0;
  }
  double later[3] = {6100.0, 6200.0, 6300.0};
  size_t observed = 99;
  counts_k[TICK_LEN + 4] = -3.0;
  EXPECT_STATUS(COALMINE_INVALID_COUNT, coalmine_analysis_observe_batch_counts(a, later, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, counts_c, 3 * TICK_LEN, counts_k, 3 * TICK_LEN, out, 3, &observed));
  last_error_contains(a, "tick 1 of the batch");
  EXPECT(observed == 0 && coalmine_analysis_ticks(a) == 6);
  counts_k[TICK_LEN + 4] = 25.0;
  EXPECT_STATUS(COALMINE_LENGTH_MISMATCH, coalmine_analysis_observe_batch_counts(a, later, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, counts_c, 3 * TICK_LEN - 1, counts_k, 3 * TICK_LEN, out, 3, &observed));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe_batch_counts(a, later, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, counts_c, 3 * TICK_LEN, counts_k, 3 * TICK_LEN, out, 3, NULL));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe_batch_counts(a, later, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, NULL, 3 * TICK_LEN, counts_k, 3 * TICK_LEN, out, 3, &observed));
  EXPECT(coalmine_analysis_ticks(a) == 6);
  OK(coalmine_analysis_observe_batch_counts(a, later, 3, rows_c, 3 * TICK_LEN, rows_k, 3 * TICK_LEN, counts_c, 3 * TICK_LEN, NULL, 0, out, 3, &observed));
  EXPECT(observed == 3 && coalmine_analysis_ticks(a) == 9 && out[2].tick == 9);

  /* Out-of-range indices and small buffers. */
  coalmine_contributor c;
  OK(coalmine_analysis_decision(a, &d));
  EXPECT_STATUS(COALMINE_INDEX_OUT_OF_RANGE, coalmine_analysis_contributor(a, d.n_contributors, &c));
  EXPECT_STATUS(COALMINE_INDEX_OUT_OF_RANGE, coalmine_analysis_contributor(a, (size_t)-1, &c));
  char tiny[4] = {'x', 'x', 'x', 'x'};
  size_t n = 12345;
  EXPECT_STATUS(COALMINE_BUFFER_TOO_SMALL, coalmine_analysis_summary(a, tiny, sizeof tiny, &n));
  EXPECT(n == 12345 && tiny[0] == 'x' && tiny[3] == 'x');

  /* The analysis is still usable after every rejection. */
  service_tick(&s, HISTORY_TICKS + 5, 1.0, control);
  service_tick(&s, HISTORY_TICKS + 5, 1.0, canary);
  OK(coalmine_analysis_observe(a, 7000.0, control, TICK_LEN, canary, TICK_LEN, &d));
  EXPECT(d.tick == 10);
  coalmine_analysis_free(a);
}

static void test_documents(void) {
  coalmine_bytes *bytes = NULL;
  OK(coalmine_profile_to_bytes(profile, &bytes));
  size_t len = coalmine_bytes_len(bytes);
  char *text = malloc(len + 1);
  memcpy(text, coalmine_bytes_data(bytes), len);
  text[len] = 0;
  coalmine_bytes_free(bytes);

  coalmine_profile *p = NULL;
  EXPECT_STATUS(COALMINE_CORRUPT_PROFILE, coalmine_profile_from_bytes((const uint8_t *)text, len / 2, &p));
  EXPECT_STATUS(COALMINE_CORRUPT_PROFILE, coalmine_profile_from_bytes((const uint8_t *)text, 0, &p));
  EXPECT_STATUS(COALMINE_CORRUPT_PROFILE, coalmine_profile_from_bytes((const uint8_t *)"garbage", 7, &p));
  const uint8_t not_utf8[] = {0xff, 0xfe, 0x00};
  EXPECT_STATUS(COALMINE_CORRUPT_PROFILE, coalmine_profile_from_bytes(not_utf8, sizeof not_utf8, &p));
  size_t other_len = 0;
  char *other = bump_version(text, len, &other_len);
  EXPECT_STATUS(COALMINE_PROFILE_VERSION, coalmine_profile_from_bytes((const uint8_t *)other, other_len, &p));
  free(other);
  /* A flipped digit in a fitted parameter deep inside still parses; a broken
   * structure does not. */
  other = replace_first(text, len, "\"series\"", "\"serie5\"", &other_len);
  EXPECT_STATUS(COALMINE_CORRUPT_PROFILE, coalmine_profile_from_bytes((const uint8_t *)other, other_len, &p));
  free(other);
  EXPECT(p == NULL);

  /* Checkpoints. */
  coalmine_analysis *a = start_analysis(profile), *r = NULL;
  OK(coalmine_analysis_checkpoint(a, &bytes));
  size_t clen = coalmine_bytes_len(bytes);
  char *ctext = malloc(clen + 1);
  memcpy(ctext, coalmine_bytes_data(bytes), clen);
  ctext[clen] = 0;
  coalmine_bytes_free(bytes);
  EXPECT_STATUS(COALMINE_CORRUPT_CHECKPOINT, coalmine_analysis_restore((const uint8_t *)ctext, clen - 1, &r));
  EXPECT_STATUS(COALMINE_CORRUPT_CHECKPOINT, coalmine_analysis_restore((const uint8_t *)"{}", 2, &r));
  EXPECT_STATUS(COALMINE_CORRUPT_CHECKPOINT, coalmine_analysis_restore(not_utf8, sizeof not_utf8, &r));
  other = bump_version(ctext, clen, &other_len);
  EXPECT_STATUS(COALMINE_CHECKPOINT_VERSION, coalmine_analysis_restore((const uint8_t *)other, other_len, &r));
  free(other);
  /* A profile is not a checkpoint, nor a checkpoint a profile. */
  EXPECT(coalmine_analysis_restore((const uint8_t *)text, len, &r) != COALMINE_OK);
  EXPECT(coalmine_profile_from_bytes((const uint8_t *)ctext, clen, &p) != COALMINE_OK);
  EXPECT(r == NULL && p == NULL);
  OK(coalmine_analysis_restore((const uint8_t *)ctext, clen, &r));
  coalmine_analysis_free(r);
  coalmine_analysis_free(a);
  free(ctext);
  free(text);
}

static void test_detectors(void) {
  coalmine_ewma *e = NULL;
  coalmine_anomaly an, sentinel;
  memset(&sentinel, 0xAB, sizeof sentinel);
  OK(coalmine_ewma_new(NULL, 0, &e));
  an = sentinel;
  EXPECT_STATUS(COALMINE_NON_FINITE, coalmine_ewma_observe(e, NAN, &an));
  EXPECT_STATUS(COALMINE_NON_FINITE, coalmine_ewma_observe(e, -INFINITY, &an));
  EXPECT_STATUS(COALMINE_OUT_OF_RANGE, coalmine_ewma_observe(e, 1e200, &an));
  EXPECT(memcmp(&an, &sentinel, sizeof an) == 0 && coalmine_ewma_observations(e) == 0);
  double xs[4] = {1.0, 2.0, 3.0, 4.0}, col[4];
  bool ready[4];
  EXPECT_STATUS(COALMINE_BUFFER_TOO_SMALL, coalmine_ewma_observe_batch(e, xs, 4, col, col, col, col, ready, 3));
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_ewma_observe_batch(e, NULL, 4, col, col, col, col, ready, 4));
  OK(coalmine_ewma_observe_batch(e, xs, 0, NULL, NULL, NULL, NULL, NULL, 0));
  EXPECT(coalmine_ewma_observations(e) == 0);
  char msg[128];
  size_t n = 0;
  OK(coalmine_ewma_last_error(e, msg, sizeof msg, &n));
  EXPECT(strstr(msg, "xs") != NULL);
  OK(coalmine_ewma_observe(e, 1.0, &an));
  EXPECT(an.expected == 1.0 && !an.ready);
  coalmine_ewma_free(e);
}

static void test_messages_and_freed_handles(void) {
  char buf[64];
  size_t n = 0;
  OK(coalmine_status_message(COALMINE_CORRUPT_CHECKPOINT, buf, sizeof buf, &n));
  EXPECT(strcmp(buf, "corrupt checkpoint") == 0 && n == strlen(buf));
  OK(coalmine_status_message(999, buf, sizeof buf, &n));
  EXPECT(strcmp(buf, "unknown status") == 0);
  OK(coalmine_status_message(COALMINE_PANIC, NULL, 0, &n));
  EXPECT(n > 5);
  EXPECT_STATUS(COALMINE_BUFFER_TOO_SMALL, coalmine_status_message(COALMINE_PANIC, buf, n, &n));

  /* A freed handle cannot be detected in C; the rule is to NULL the pointer when
   * freeing it, which turns any later use into a status. */
  coalmine_analysis *a = start_analysis(profile);
  coalmine_analysis_free(a);
  a = NULL;
  coalmine_decision d;
  double row[TICK_LEN] = {0};
  EXPECT_STATUS(COALMINE_NULL_POINTER, coalmine_analysis_observe(a, 1.0, row, TICK_LEN, row, TICK_LEN, &d));
  coalmine_analysis_free(a);
}

int main(void) {
  profile = learn_profile();
  test_null_pointers();
  test_specs_and_configs();
  test_ticks();
  test_documents();
  test_detectors();
  test_messages_and_freed_handles();
  coalmine_profile_free(profile);
  if (failures > 0) {
    fprintf(stderr, "bad_input: %d check(s) failed\n", failures);
    return 1;
  }
  printf("bad_input: all checks passed\n");
  return 0;
}
