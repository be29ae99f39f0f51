/* Parity: replays the rollouts of the fixture written by the Rust example
 * `parity_fixture` (the core called directly) through the C ABI — profile learnt
 * from the same history, the same live ticks, a checkpoint and restore half-way —
 * and requires the same decisions: action, reason, phase, and risk, predicted risk
 * and canary share to the last bit. Then once more in batches, and the same ticks with
 * the count behind each value in batches with counts.
 *
 * Usage: parity FIXTURE_FILE */
#include <inttypes.h>

#include "common.h"

static const char *ACTIONS[] = {"continue", "pause", "rollback"};
static const char *REASONS[] = {"risk_low",       "risk_elevated",   "risk_high",
                                "predicted",      "critical_metric", "pause_timeout",
                                "already_rolled_back", "no_data"};
static const char *PHASES[] = {"ramping", "paused", "promoted", "rolled_back"};

typedef struct {
  char action[32], reason[32], phase[32];
  uint64_t risk, predicted, share;
} expected;

static FILE *fixture;

static void fail(const char *what) {
  fprintf(stderr, "parity: malformed fixture at %s\n", what);
  exit(1);
}

static void expect_word(const char *word) {
  char got[64];
  if (fscanf(fixture, "%63s", got) != 1 || strcmp(got, word) != 0) {
    fail(word);
  }
}

static size_t read_size(void) {
  size_t n = 0;
  if (fscanf(fixture, "%zu", &n) != 1) {
    fail("a count");
  }
  return n;
}

static uint64_t read_bits(void) {
  uint64_t bits = 0;
  if (fscanf(fixture, "%" SCNx64, &bits) != 1) {
    fail("a number");
  }
  return bits;
}

static double read_double(void) {
  uint64_t bits = read_bits();
  double x;
  memcpy(&x, &bits, sizeof x);
  return x;
}

/* `json LABEL BYTES` then one line of BYTES bytes; returns a malloc'ed copy. */
static char *read_json(const char *label, size_t *len) {
  expect_word("json");
  expect_word(label);
  *len = read_size();
  if (fgetc(fixture) != '\n') {
    fail(label);
  }
  char *text = malloc(*len + 1);
  if (fread(text, 1, *len, fixture) != *len) {
    fail(label);
  }
  text[*len] = 0;
  return text;
}

static double *read_rows(size_t rows, size_t cols) {
  double *v = malloc(rows * cols * sizeof *v + 1);
  for (size_t i = 0; i < rows * cols; i++) {
    v[i] = read_double();
  }
  return v;
}

/* Whether decision `d` is the expected one; prints the first difference. */
static int matches(const coalmine_decision *d, const expected *e, size_t k) {
  uint64_t risk, predicted, share;
  memcpy(&risk, &d->risk, sizeof risk);
  memcpy(&predicted, &d->predicted_risk, sizeof predicted);
  memcpy(&share, &d->canary_share, sizeof share);
  if (strcmp(ACTIONS[d->action], e->action) != 0 ||
      strcmp(REASONS[d->reason], e->reason) != 0 ||
      strcmp(PHASES[d->phase], e->phase) != 0 || risk != e->risk ||
      predicted != e->predicted || share != e->share) {
    fprintf(stderr,
            "tick %zu: C says %s %s %s risk %016" PRIx64 " predicted %016" PRIx64
            " share %016" PRIx64 ", Rust %s %s %s risk %016" PRIx64
            " predicted %016" PRIx64 " share %016" PRIx64 "\n",
            k, ACTIONS[d->action], REASONS[d->reason], PHASES[d->phase], risk,
            predicted, share, e->action, e->reason, e->phase, e->risk,
            e->predicted, e->share);
    return 0;
  }
  return 1;
}

static void rollout(void) {
  char name[128];
  expect_word("rollout");
  if (fscanf(fixture, "%127s", name) != 1) {
    fail("rollout name");
  }
  size_t schema_len, profile_len, analysis_len;
  char *schema_json = read_json("schema", &schema_len);
  char *profile_json = read_json("profile_config", &profile_len);
  char *analysis_json = read_json("analysis_config", &analysis_len);
  expect_word("history");
  size_t history_rows = read_size(), cols = read_size();
  double *history = read_rows(history_rows, cols);
  expect_word("live");
  size_t ticks = read_size();
  if (read_size() != cols) {
    fail("live columns");
  }
  double *timestamps = malloc(ticks * sizeof(double) + 1);
  double *control = malloc(ticks * cols * sizeof(double) + 1);
  double *canary = malloc(ticks * cols * sizeof(double) + 1);
  for (size_t k = 0; k < ticks; k++) {
    timestamps[k] = read_double();
    for (size_t i = 0; i < cols; i++) {
      control[k * cols + i] = read_double();
    }
    for (size_t i = 0; i < cols; i++) {
      canary[k * cols + i] = read_double();
    }
  }
  expect_word("checkpoint_at");
  size_t checkpoint_at = read_size();
  expect_word("decisions");
  if (read_size() != ticks) {
    fail("decision count");
  }
  expected *want = malloc(ticks * sizeof *want + 1);
  for (size_t k = 0; k < ticks; k++) {
    if (fscanf(fixture, "%31s %31s %31s", want[k].action, want[k].reason,
               want[k].phase) != 3) {
      fail("decision");
    }
    want[k].risk = read_bits();
    want[k].predicted = read_bits();
    want[k].share = read_bits();
  }
  expect_word("counts");
  if (read_size() != ticks || read_size() != cols) {
    fail("counts shape");
  }
  double *control_counts = malloc(ticks * cols * sizeof(double) + 1);
  double *canary_counts = malloc(ticks * cols * sizeof(double) + 1);
  for (size_t k = 0; k < ticks; k++) {
    for (size_t i = 0; i < cols; i++) {
      control_counts[k * cols + i] = read_double();
    }
    for (size_t i = 0; i < cols; i++) {
      canary_counts[k * cols + i] = read_double();
    }
  }
  expect_word("counted_decisions");
  size_t n_counted = read_size();
  if (n_counted > ticks) {
    fail("counted decision count");
  }
  expected *want_counted = malloc(n_counted * sizeof *want_counted + 1);
  for (size_t k = 0; k < n_counted; k++) {
    if (fscanf(fixture, "%31s %31s %31s", want_counted[k].action,
               want_counted[k].reason, want_counted[k].phase) != 3) {
      fail("counted decision");
    }
    want_counted[k].risk = read_bits();
    want_counted[k].predicted = read_bits();
    want_counted[k].share = read_bits();
  }
  expect_word("end");

  /* Learn the profile through the ABI from the same history. */
  coalmine_schema *schema = NULL;
  coalmine_profile_builder *builder = NULL;
  coalmine_profile *profile = NULL;
  OK(coalmine_schema_from_json(schema_json, schema_len, &schema));
  EXPECT(coalmine_schema_tick_len(schema) == cols);
  OK(coalmine_profile_builder_new(schema, profile_json, profile_len, &builder));
  for (size_t r = 0; r < history_rows; r++) {
    OK(coalmine_profile_builder_push_tick(builder, &history[r * cols], cols));
  }
  OK(coalmine_profile_builder_build(builder, &profile));

  /* One tick per call, restarting from a checkpoint half-way. */
  coalmine_analysis *a = NULL;
  OK(coalmine_analysis_new(profile, analysis_json, analysis_len, &a));
  size_t same = 0;
  for (size_t k = 0; k < ticks; k++) {
    if (k == checkpoint_at) {
      coalmine_bytes *saved = NULL;
      OK(coalmine_analysis_checkpoint(a, &saved));
      coalmine_analysis_free(a);
      a = NULL;
      OK(coalmine_analysis_restore(coalmine_bytes_data(saved),
                                   coalmine_bytes_len(saved), &a));
      coalmine_bytes_free(saved);
    }
    coalmine_decision d;
    OK(coalmine_analysis_observe(a, timestamps[k], &control[k * cols], cols,
                                 &canary[k * cols], cols, &d));
    same += (size_t)matches(&d, &want[k], k);
  }
  EXPECT(same == ticks);
  coalmine_analysis_free(a);

  /* All ticks in batches of 16. */
  OK(coalmine_analysis_new(profile, analysis_json, analysis_len, &a));
  coalmine_decision *out = malloc(ticks * sizeof *out + 1);
  for (size_t lo = 0; lo < ticks; lo += 16) {
    size_t n = ticks - lo < 16 ? ticks - lo : 16;
    OK(coalmine_analysis_observe_batch(a, &timestamps[lo], n, &control[lo * cols],
                                       n * cols, &canary[lo * cols], n * cols,
                                       &out[lo], n));
  }
  size_t batched = 0;
  for (size_t k = 0; k < ticks; k++) {
    batched += (size_t)matches(&out[k], &want[k], k);
  }
  EXPECT(batched == ticks);
  printf("parity %s: %zu/%zu decisions identical one by one, %zu/%zu in batches\n",
         name, same, ticks, batched, ticks);
  coalmine_analysis_free(a);

  /* With counts, in batches of 16 (a batch stops after a promotion). */
  OK(coalmine_analysis_new(profile, analysis_json, analysis_len, &a));
  size_t observed_total = 0;
  for (size_t lo = 0; lo < ticks; lo += 16) {
    size_t n = ticks - lo < 16 ? ticks - lo : 16, observed = 0;
    OK(coalmine_analysis_observe_batch_counts(
        a, &timestamps[lo], n, &control[lo * cols], n * cols, &canary[lo * cols],
        n * cols, &control_counts[lo * cols], n * cols, &canary_counts[lo * cols],
        n * cols, &out[lo], n, &observed));
    observed_total += observed;
    if (observed < n) {
      break;
    }
  }
  EXPECT(observed_total == n_counted);
  size_t counted = 0, moved = 0;
  for (size_t k = 0; k < n_counted && k < observed_total; k++) {
    counted += (size_t)matches(&out[k], &want_counted[k], k);
    moved += want_counted[k].risk != want[k].risk;
  }
  EXPECT(counted == n_counted);
  /* The counts reach the core: they change the risk of some ticks. */
  EXPECT(moved > 0);
  printf("parity %s: %zu/%zu decisions identical in batches with counts\n", name,
         counted, n_counted);

  free(out);
  coalmine_analysis_free(a);
  coalmine_profile_free(profile);
  coalmine_profile_builder_free(builder);
  coalmine_schema_free(schema);
  free(want_counted);
  free(canary_counts);
  free(control_counts);
  free(want);
  free(canary);
  free(control);
  free(timestamps);
  free(history);
  free(analysis_json);
  free(profile_json);
  free(schema_json);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: parity FIXTURE_FILE\n");
    return 2;
  }
  fixture = fopen(argv[1], "r");
  if (fixture == NULL) {
    fprintf(stderr, "parity: cannot open %s (run `make parity-fixture`)\n", argv[1]);
    return 2;
  }
  expect_word("coalmine-parity");
  if (read_size() != 2) {
    fail("format version");
  }
  expect_word("rollouts");
  size_t n = read_size();
  for (size_t i = 0; i < n; i++) {
    rollout();
  }
  fclose(fixture);
  if (failures > 0 || n == 0) {
    fprintf(stderr, "parity: %d check(s) failed\n", failures);
    return 1;
  }
  printf("parity: all rollouts identical\n");
  return 0;
}
