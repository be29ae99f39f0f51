/* The whole flow of coalmine from C: describe what is measured, learn a profile from
 * the stable version's history, save and reload it, then judge a rollout tick by
 * tick — acting on each decision, checkpointing, and explaining a rollback.
 *
 * Build (after `cargo build --release -p coalmine-ffi`):
 *   cc -std=c11 -Ibindings/c/include bindings/c/examples/rollout.c \
 *      target/release/libcoalmine.a -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
 *
 * The service is simulated here: two segments, three metrics, a daily cycle of 24
 * hourly ticks; from live tick 15 the new version is 40 % slower. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalmine.h"

static const char SCHEMA[] =
    "{\"metrics\": ["
    "  {\"name\": \"error_rate\", \"direction\": \"increase_is_bad\", \"kind\": \"ratio\"},"
    "  {\"name\": \"latency_ms\", \"direction\": \"increase_is_bad\"},"
    "  {\"name\": \"checkouts\", \"direction\": \"decrease_is_bad\", \"kind\": \"count\"}],"
    " \"segments\": [{\"name\": \"free\", \"weight\": 1}, {\"name\": \"pro\", \"weight\": 2}]}";
static const char PROFILE_CONFIG[] = "{\"candidate_periods\": [24]}";
static const char ANALYSIS_CONFIG[] =
    "{\"traffic\": {\"steps\": [0.05, 0.25, 0.5, 1.0], \"min_dwell_ticks\": 10,"
    " \"min_evidence_ticks\": 8}}";

enum { SEGMENTS = 2, METRICS = 3, TICK = SEGMENTS * METRICS, HISTORY = 24 * 14 };

/* Prints why a call failed and exits: the status's name and the detailed message. */
static void check(coalmine_status s, const char *what) {
  if (s == COALMINE_OK) {
    return;
  }
  char name[128], detail[512];
  size_t n = 0;
  coalmine_status_message(s, name, sizeof name, &n);
  if (coalmine_last_error(detail, sizeof detail, &n) != COALMINE_OK) {
    detail[0] = 0;
  }
  fprintf(stderr, "%s failed: %s (%u): %s\n", what, name, (unsigned)s, detail);
  exit(1);
}

static uint64_t rng = 42;
static double noise(void) {
  double sum = 0;
  for (int i = 0; i < 4; i++) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    sum += (double)(rng >> 11) / 9007199254740992.0;
  }
  return sum - 2.0;
}

static void measure(size_t t, double slowdown, double *v) {
  double day = sin(6.283185307179586 * (double)(t % 24) / 24.0);
  for (int s = 0; s < SEGMENTS; s++) {
    double load = 1.0 + 0.3 * day + 0.1 * s;
    v[s * METRICS + 0] = fmax(0.0, 0.01 + 0.002 * noise());
    v[s * METRICS + 1] = slowdown * (120.0 * load + 4.0 * noise());
    v[s * METRICS + 2] = fmax(0.0, 200.0 * load + 10.0 * noise());
  }
}

static coalmine_profile *learn(void) {
  coalmine_schema *schema = NULL;
  coalmine_profile_builder *builder = NULL;
  coalmine_profile *profile = NULL;
  check(coalmine_schema_from_json(SCHEMA, strlen(SCHEMA), &schema), "schema");
  check(coalmine_profile_builder_new(schema, PROFILE_CONFIG, strlen(PROFILE_CONFIG),
                                     &builder),
        "profile builder");
  coalmine_schema_free(schema); /* the builder keeps its own copy */
  double row[TICK];
  for (size_t t = 0; t < HISTORY; t++) {
    measure(t, 1.0, row);
    check(coalmine_profile_builder_push_tick(builder, row, TICK), "history tick");
  }
  check(coalmine_profile_builder_build(builder, &profile), "learning");
  coalmine_profile_builder_free(builder);

  /* A profile is kept between rollouts as bytes (JSON with a format version). */
  coalmine_bytes *saved = NULL;
  check(coalmine_profile_to_bytes(profile, &saved), "saving the profile");
  coalmine_profile_free(profile);
  profile = NULL;
  check(coalmine_profile_from_bytes(coalmine_bytes_data(saved),
                                    coalmine_bytes_len(saved), &profile),
        "loading the profile");
  printf("learnt a profile from %d ticks (%zu bytes saved)\n", HISTORY,
         coalmine_bytes_len(saved));
  coalmine_bytes_free(saved);
  return profile;
}

static void explain(const coalmine_analysis *a, const coalmine_profile *profile,
                    const coalmine_decision *d) {
  char summary[512];
  size_t n = 0;
  check(coalmine_analysis_summary(a, summary, sizeof summary, &n), "summary");
  printf("  %s\n", summary);
  coalmine_schema *schema = NULL;
  check(coalmine_profile_schema(profile, &schema), "schema");
  for (size_t i = 0; i < d->n_contributors && i < 3; i++) {
    coalmine_contributor c;
    char metric[64], segment[64];
    check(coalmine_analysis_contributor(a, i, &c), "contributor");
    check(coalmine_schema_metric_name(schema, c.metric, metric, sizeof metric, &n), "name");
    check(coalmine_schema_segment_name(schema, c.segment, segment, sizeof segment, &n), "name");
    const char *source = c.source == COALMINE_SOURCE_JOINT   ? " (joint behaviour)"
                         : c.source == COALMINE_SOURCE_LIMIT ? " (heading for its limit)"
                                                             : "";
    printf("    #%zu %s in %s%s: %+.1f sd against control, p = %.1e\n", i + 1, metric,
           segment, source, c.deviation, c.p_value);
  }
  coalmine_schema_free(schema);
}

int main(void) {
  printf("coalmine %s\n", coalmine_version());
  coalmine_profile *profile = learn();
  coalmine_analysis *analysis = NULL;
  check(coalmine_analysis_new(profile, ANALYSIS_CONFIG, strlen(ANALYSIS_CONFIG),
                              &analysis),
        "analysis");
  coalmine_bytes *checkpoint = NULL;
  double control[TICK], canary[TICK];
  for (size_t k = 0; k < 100; k++) {
    size_t t = HISTORY + k;
    measure(t, 1.0, control);
    measure(t, k >= 15 ? 1.4 : 1.0, canary);
    coalmine_decision d;
    check(coalmine_analysis_observe(analysis, (double)t * 3600.0, control, TICK,
                                    canary, TICK, &d),
          "observe");
    /* Persist after every tick: a restarted deployer resumes from here with
     * coalmine_analysis_restore. */
    coalmine_bytes_free(checkpoint);
    check(coalmine_analysis_checkpoint(analysis, &checkpoint), "checkpoint");

    switch (d.action) {
    case COALMINE_ACTION_CONTINUE:
      if (k % 5 == 0) {
        printf("tick %2zu: continue, canary weight %.0f %%, risk %.2f\n", k,
               100 * d.canary_share, d.risk);
      }
      break;
    case COALMINE_ACTION_PAUSE:
      printf("tick %2zu: PAUSE, canary weight down to %.1f %%, evaluate %.1fx as often\n",
             k, 100 * d.canary_share, 1.0 / d.interval_factor);
      break;
    case COALMINE_ACTION_ROLLBACK:
      printf("tick %2zu: ROLL BACK (%s alert), all traffic to stable\n", k,
             d.alert == COALMINE_ALERT_WARNING ? "early warning" : "critical");
      explain(analysis, profile, &d);
      break;
    }
    /* Promotion and rollback end the rollout; the verdict says why. */
    if (d.phase == COALMINE_PHASE_PROMOTED || d.phase == COALMINE_PHASE_ROLLED_BACK) {
      break;
    }
  }
  /* The verdict also answers a rollout that stopped early: promote only with enough
   * evidence, otherwise inconclusive and what was missing. */
  char verdict[512];
  size_t n = 0;
  check(coalmine_analysis_verdict_explain(analysis, verdict, sizeof verdict, &n), "verdict");
  printf("verdict: %s (checkpoint of %zu bytes kept)\n", verdict,
         coalmine_bytes_len(checkpoint));
  coalmine_bytes_free(checkpoint);
  coalmine_analysis_free(analysis);
  coalmine_profile_free(profile);
  return 0;
}
