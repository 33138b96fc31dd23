# Tool versions are pinned in internal/tools/go.mod (ocb and mdatagen v0.142.0)
# and here (golangci-lint).
GOLANGCI_VERSION := v2.6.2

GO        ?= go
TOOLS_BIN := $(CURDIR)/.tools
OCB       := $(TOOLS_BIN)/builder
MDATAGEN  := $(TOOLS_BIN)/mdatagen
GOLANGCI  := $(TOOLS_BIN)/golangci-lint

DIST_DIR  := cmd/otelcol-wafermonitor
BIN       := $(CURDIR)/bin/otelcol-wafermonitor
CONFIG    ?= otelcol-config.yaml

# Components with an mdatagen metadata.yaml.
COMPONENTS := $(patsubst %/metadata.yaml,%,$(wildcard receiver/*/metadata.yaml processor/*/metadata.yaml exporter/*/metadata.yaml extension/*/metadata.yaml confmap/*/*/metadata.yaml))

# Modules and checksums come from go.sum; no checksum database is needed at build time.
export CGO_ENABLED := 0

.PHONY: all build run test test-deps test-rules test-unit generate check-generate vet lint fmt bench bench-go helm-lint tools clean

all: build

## build: compile the otelcol-wafermonitor binary into bin/
build:
	cd $(DIST_DIR) && $(GO) build -trimpath -ldflags "-s -w" -o $(BIN) .

## run: build and run the collector with the default configuration
run: build
	$(BIN) --config $(CONFIG)

## test-deps: install what the tests need (.ci/setup.d: Debian packages, helm, ...)
test-deps:
	@for s in .ci/setup.d/*.sh; do echo "--- $$s"; bash $$s || exit 1; done

## test: every test, the end-to-end ones against the binary built once
test: test-deps build
	$(MAKE) --no-print-directory test-rules
	OTELCOL_WAFERMONITOR_BIN=$(BIN) $(GO) test -count=1 ./...
	# the race detector needs cgo (gcc); the product itself is built without it
	cd sdk && CGO_ENABLED=1 OTELCOL_WAFERMONITOR_BIN=$(BIN) $(GO) test -count=1 -race ./...

## test-rules: check the Prometheus alerting rules and run their unit tests (promtool, .ci/setup.d)
test-rules:
	promtool check rules deploy/prometheus/wafermonitor-rules.yaml
	promtool test rules deploy/prometheus/wafermonitor-rules.test.yaml

## test-unit: unit tests only (no collector binary)
test-unit:
	$(GO) test -short ./...
	cd sdk && $(GO) test -short ./...

## generate: regenerate the distribution module from builder-config.yaml and mdatagen code
generate: $(OCB) $(MDATAGEN)
	mkdir -p $(DIST_DIR)
	$(OCB) --config builder-config.yaml --skip-compilation --skip-get-modules
	# contrib's fileexporter tests import a module the proxy does not serve;
	# -e lets tidy record everything the build itself needs. New modules are
	# not in the checksum database here; go.sum (committed) pins them.
	cd $(DIST_DIR) && GOFLAGS=-mod=mod GOSUMDB=off $(GO) mod tidy -e
	gofmt -w $(DIST_DIR)/*.go
	for c in $(COMPONENTS); do (cd $$c && $(MDATAGEN) metadata.yaml) || exit 1; done

## check-generate: fail when generate changes anything (run on a clean checkout in CI)
GENERATED_PATHS = $(DIST_DIR) $(COMPONENTS)
check-generate:
	@state() { git status --porcelain -- $(GENERATED_PATHS); git diff -- $(GENERATED_PATHS) | sha1sum; }; \
	before=$$(state); \
	$(MAKE) --no-print-directory generate >/dev/null 2>&1 || { $(MAKE) generate; exit 1; }; \
	after=$$(state); \
	if [ "$$before" != "$$after" ]; then \
		echo "generated code is out of date with builder-config.yaml or a metadata.yaml: run make generate and commit"; \
		git status --short -- $(GENERATED_PATHS); exit 1; \
	fi; echo "generated code is up to date"

## vet: gofmt and go vet
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "run gofmt -w"; exit 1; }
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...

## lint: go vet and golangci-lint
lint: vet $(GOLANGCI)
	$(GOLANGCI) run ./...
	cd sdk && $(GOLANGCI) run ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: the shipped configuration beside a plain pipeline, v1 against OTLP, the SDK (about 12 min on 2 cores) into docs/benchmarks.md
# BENCH_ARGS=-quick: a 2-minute smoke run of the harness, its report under the system temp directory;
# BENCH_ARGS='-baseline-rev REV': the same run with a before/after table against a build of REV
bench: build
	OTELCOL_WAFERMONITOR_BIN=$(BIN) $(GO) run ./internal/benchharness $(BENCH_ARGS)

## bench-go: every package's Go benchmarks (benchstat input)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd sdk && $(GO) test -run '^$$' -bench . -benchmem ./...

$(OCB) $(MDATAGEN): internal/tools/go.mod
	cd internal/tools && $(GO) build -o $(TOOLS_BIN)/ go.opentelemetry.io/collector/cmd/builder go.opentelemetry.io/collector/cmd/mdatagen
# golangci-lint is a tool, not part of the product: its modules are not in any
# committed go.sum and many are unknown to the checksum database here.
$(GOLANGCI):
	GOBIN=$(TOOLS_BIN) GOSUMDB=off GOFLAGS=-mod=mod $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

$(TOOLS_BIN)/helm:
	bash .ci/setup.d/30-helm.sh

## helm-lint: lint the chart and run its rendering tests
helm-lint: $(TOOLS_BIN)/helm
	$(TOOLS_BIN)/helm lint --strict deploy/helm/otelcol-wafermonitor
	OTELCOL_WAFERMONITOR_BIN=$(BIN) $(GO) test -count=1 -run 'TestHelm|TestChart|TestAgentRoutes' ./internal/deploytest/

tools: $(OCB) $(MDATAGEN)

clean:
	rm -rf bin
