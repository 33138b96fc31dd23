package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "builder-config.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("run from inside the repository (no builder-config.yaml above the working directory)")
		}
		dir = parent
	}
}

// buildCollector returns OTELCOL_WAFERMONITOR_BIN, or builds the collector
// of the source tree at root into workDir.
func buildCollector(ctx context.Context, root, workDir string) (string, error) {
	if p := os.Getenv(envBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", envBinary, p, err)
		}
		return p, nil
	}
	return goBuild(ctx, root, filepath.Join(workDir, "otelcol-wafermonitor"))
}

// goBuild builds the collector of the source tree at root with the flags of
// `make build`.
func goBuild(ctx context.Context, root, out string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = filepath.Join(root, "cmd", "otelcol-wafermonitor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the collector in %s: %w: %s", root, err, msg)
	}
	return out, nil
}

// buildRevision builds the collector of a git revision of the repository:
// the revision's tree is extracted with `git archive` into workDir (the
// repository and its worktrees are left as they are). It returns the binary,
// the revision's shipped configuration and a description of the revision.
func buildRevision(ctx context.Context, root, rev, workDir string) (bin, config, desc string, err error) {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "log", "-1", "--format=%h (%s)", rev).Output()
	if err != nil {
		return "", "", "", fmt.Errorf("-baseline-rev %s: not a revision of the repository: %w", rev, err)
	}
	desc = strings.TrimSpace(string(out))
	src := filepath.Join(workDir, "baseline-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", "", err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", rev)
	tar := exec.CommandContext(ctx, "tar", "-x", "-C", src)
	var stderr bytes.Buffer
	archive.Stderr, tar.Stderr = &stderr, &stderr
	if tar.Stdin, err = archive.StdoutPipe(); err != nil {
		return "", "", "", err
	}
	if err := tar.Start(); err != nil {
		return "", "", "", err
	}
	if err := archive.Run(); err != nil {
		_ = tar.Wait()
		return "", "", "", fmt.Errorf("git archive %s: %w: %s", rev, err, stderr.String())
	}
	if err := tar.Wait(); err != nil {
		return "", "", "", fmt.Errorf("extracting %s: %w: %s", rev, err, stderr.String())
	}
	bin, err = goBuild(ctx, src, filepath.Join(workDir, "otelcol-baseline"))
	if err != nil {
		return "", "", "", err
	}
	return bin, filepath.Join(src, "otelcol-config.yaml"), desc, nil
}
