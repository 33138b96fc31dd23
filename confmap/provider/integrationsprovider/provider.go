package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

const (
	schemeName = "integrations"
	// envSource reads the list from EnvConfig, as the old sidecar did.
	envSource = "env"
	// strictPrefix makes an unknown type or key an error.
	strictPrefix = "strict:"
)

// Environment variables of the old sidecar.
const (
	// EnvConfig holds the JSON list itself, not a path.
	EnvConfig = "INTEGRATIONS_CONFIG"
	// EnvLocalAPIBase is the Local API's base URL of the default integration
	// (and of local_api entries without base_url).
	EnvLocalAPIBase = "LOCAL_API_BASE"
	// EnvLocalAPITimeout is the default integration's timeout in seconds.
	EnvLocalAPITimeout = "LOCAL_API_TIMEOUT"
)

type provider struct {
	logger   *zap.Logger
	getenv   func(string) (string, bool)
	readFile func(string) ([]byte, error)
}

// NewFactory returns the factory of the provider that turns the old
// sidecar's integrations list into collector configuration:
//
//	integrations:/etc/wafer/integrations.json   the list in a file
//	integrations:env                            the list in $INTEGRATIONS_CONFIG, as the old sidecar read it
//	integrations:strict:/etc/wafer/integrations.json, integrations:strict:env
//	                                            the same, but an unknown type or key is an error
//
// Every enabled entry becomes an exporter (and, for Elasticsearch and AWS,
// the processors and pipelines that shape its data) named after the entry,
// e.g. webhook/primary. The integrations converter adds them to the
// pipelines of the configuration loaded with it (otelcol-config.yaml):
//
//	otelcol-wafermonitor --config otelcol-config.yaml --config integrations:/etc/wafer/integrations.json
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return &provider{logger: logger, getenv: os.LookupEnv, readFile: os.ReadFile}
	})
}

func (p *provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	location, ok := strings.CutPrefix(uri, schemeName+":")
	if !ok {
		return nil, fmt.Errorf("%q uri is not supported by %q provider", uri, schemeName)
	}
	location, strict := strings.CutPrefix(location, strictPrefix)
	if location == "" {
		return nil, fmt.Errorf("%s: say where the integrations are: integrations:/path/to/integrations.json or integrations:env ($%s)", uri, EnvConfig)
	}
	data, source, err := p.read(location)
	if err != nil {
		return nil, fmt.Errorf("integrations: %w", err)
	}
	var entries []*entry
	if data == nil {
		entries = p.defaultEntries()
	} else if entries, err = parse(data); err != nil {
		return nil, fmt.Errorf("integrations: %s: %w", source, err)
	}
	conf, err := translate(entries, source, p.logger, strict, p.getenv)
	if err != nil {
		return nil, fmt.Errorf("integrations: %s: %w", source, err)
	}
	return confmap.NewRetrieved(map[string]any(conf))
}

// read returns the JSON list and where it came from; nil data means
// $INTEGRATIONS_CONFIG is not set, and the old sidecar's default applies.
func (p *provider) read(location string) ([]byte, string, error) {
	if location == envSource {
		value, _ := p.getenv(EnvConfig)
		if strings.TrimSpace(value) == "" {
			return nil, "$" + EnvConfig, nil
		}
		return []byte(value), "$" + EnvConfig, nil
	}
	path := filepath.Clean(location)
	data, err := p.readFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, path, fmt.Errorf("%s does not exist (use integrations:env to read $%s)", path, EnvConfig)
		}
		return nil, path, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return data, path, nil
}

// defaultEntries is what the old sidecar ran without INTEGRATIONS_CONFIG:
// one local_api at $LOCAL_API_BASE, timeout $LOCAL_API_TIMEOUT.
func (p *provider) defaultEntries() []*entry {
	e := &entry{position: 1, typ: typeLocalAPI, name: "local_api", enabled: true, config: map[string]json.RawMessage{}}
	base := defaultLocalAPIBase
	if v, ok := p.getenv(EnvLocalAPIBase); ok && v != "" {
		base = v
	}
	e.config["base_url"] = quote(base)
	if v, ok := p.getenv(EnvLocalAPITimeout); ok && v != "" {
		e.config["timeout"] = quote(v)
	}
	p.logger.Info("$"+EnvConfig+" is not set: the old sidecar's default integration, local_api at $"+EnvLocalAPIBase,
		zap.String("base_url", base))
	return []*entry{e}
}

func (*provider) Scheme() string { return schemeName }

func (*provider) Shutdown(context.Context) error { return nil }
