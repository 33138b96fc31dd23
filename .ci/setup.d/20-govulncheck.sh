#!/usr/bin/env bash
# govulncheck, pinned, for the vulnerability check of the Go modules and of
# the built binary. .ci/govulncheck.sh runs it against a local copy of the Go
# vulnerability database built from the golang.org/x/vulndb module.
set -euo pipefail
version=v1.1.4
if command -v govulncheck >/dev/null && govulncheck -version 2>/dev/null | grep -q "govulncheck@$version"; then
	exit 0
fi
GOSUMDB=off GOBIN=/usr/local/bin go install "golang.org/x/vuln/cmd/govulncheck@$version"
govulncheck -version | head -3
