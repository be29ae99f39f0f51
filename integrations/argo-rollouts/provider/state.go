package provider

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
)

// checkpointPrefix tags the encoding of a checkpoint in a measurement's metadata:
// the analysis's JSON checkpoint, gzip-compressed, in standard base64.
const checkpointPrefix = "gzip+base64:"

// maxCheckpointBytes bounds a decompressed checkpoint read back from a measurement.
const maxCheckpointBytes = 64 << 20

// EncodeCheckpoint packs an analysis checkpoint for a measurement's metadata.
func EncodeCheckpoint(checkpoint []byte) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write(checkpoint); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return checkpointPrefix + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// DecodeCheckpoint unpacks what EncodeCheckpoint packed.
func DecodeCheckpoint(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, checkpointPrefix)
	if !ok {
		return nil, errors.New("checkpoint: unknown encoding")
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxCheckpointBytes+1))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if len(out) > maxCheckpointBytes {
		return nil, errors.New("checkpoint: too large")
	}
	return out, nil
}

func digest(encoded string) [32]byte { return sha256.Sum256([]byte(encoded)) }

// LastCheckpoint is the encoded checkpoint of the newest measurement of metric in
// run that carries one ("" when none does: the analysis starts afresh).
func LastCheckpoint(run *v1alpha1.AnalysisRun, metric string) string {
	if run == nil {
		return ""
	}
	for _, r := range run.Status.MetricResults {
		if r.Name != metric {
			continue
		}
		for i := len(r.Measurements) - 1; i >= 0; i-- {
			if c := r.Measurements[i].Metadata[KeyCheckpoint]; c != "" {
				return c
			}
		}
	}
	return ""
}
