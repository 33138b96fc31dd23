package webhookexporter

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// TestDocsExamplesValidate runs `otelcol-wafermonitor validate` on every
// collector configuration in docs/webhook.md.
func TestDocsExamplesValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector binary")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "webhook.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1)
	require.Len(t, blocks, 3)
	bin := testcollector.Binary(t)
	for i, b := range blocks {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(path, b[1], 0o600))
			cmd := exec.Command(bin, "validate", "--config", path)
			cmd.Env = append(os.Environ(), "LOCALAPI_PASSWORD=pw", "LOCALAPI_WEBHOOK_SECRET=s", "ALERTS_TOKEN=t",
				"ALERTS_WEBHOOK_SECRET=s", "REPORTS_API_KEY=k")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "docs/webhook.md example %d:\n%s", i+1, out)
		})
	}
}
