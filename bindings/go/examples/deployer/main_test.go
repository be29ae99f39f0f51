package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	coalmine "github.com/coalmine-rs/coalmine/bindings/go"
)

// The example's two rollouts end as they should, and a restart in the middle of
// either changes nothing the router is told.
func TestDeployer(t *testing.T) {
	for _, c := range []struct {
		release Release
		verdict coalmine.Verdict
	}{
		{releases[0], coalmine.VerdictPromote},
		{releases[1], coalmine.VerdictRollback},
		{releases[2], coalmine.VerdictRollback},
	} {
		verdict, straight, err := roll(c.release, io.Discard, -1)
		if err != nil || verdict != c.verdict {
			t.Fatalf("%s: verdict %v, error %v", c.release.Name, verdict, err)
		}
		for _, restartAt := range []int{1, 12, 17} {
			verdict, resumed, err := roll(c.release, io.Discard, restartAt)
			if err != nil || verdict != c.verdict || !slices.Equal(straight, resumed) {
				t.Fatalf("%s restarted at %d: %v %v\n%q\n%q", c.release.Name, restartAt, verdict, err, straight, resumed)
			}
		}
		last := straight[len(straight)-1]
		if c.verdict == coalmine.VerdictRollback && !strings.HasPrefix(last, "ROLLBACK") {
			t.Fatalf("%s: %q", c.release.Name, last)
		}
	}
}

// What the command prints: both verdicts and the restarts.
func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"verdict: promote", "verdict: rollback", "resumed from the checkpoint after tick 12", "PAUSE", "ROLLBACK"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
