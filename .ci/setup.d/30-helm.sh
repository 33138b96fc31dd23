#!/usr/bin/env bash
# Helm for the chart checks in internal/deploytest (helm lint, helm template).
# Built from the Go module proxy at a pinned version into .tools/helm; nothing
# is installed system-wide. Compiling it takes a few minutes the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."

HELM_VERSION=v3.22.0
# The Kubernetes version helm assumes without a cluster, as its release builds
# set it (from the client-go it is built with, v0.37).
K8S_MAJOR=1
K8S_MINOR=37
tools="$PWD/.tools"

if [ -x "$tools/helm" ] && "$tools/helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION}+k8s${K8S_MAJOR}.${K8S_MINOR}$"; then
	echo "helm: $("$tools/helm" version --short)"
	exit 0
fi
mkdir -p "$tools"
# helm's go.mod holds the versions; the checksum database is not reachable here.
GOBIN="$tools" GOSUMDB=off GOFLAGS= CGO_ENABLED=0 \
	go install -trimpath -ldflags "-s -w \
		-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} \
		-X helm.sh/helm/v3/internal/version.metadata=k8s${K8S_MAJOR}.${K8S_MINOR} \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=${K8S_MAJOR} \
		-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${K8S_MINOR} \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=${K8S_MAJOR} \
		-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=${K8S_MINOR}" \
	"helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
echo "helm: $("$tools/helm" version --short)"
