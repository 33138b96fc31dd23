package filestorageextension // import "github.com/wafermonitor/wafermonitor/extension/filestorageextension"

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
)

// fileName is the name of the file that contrib's file_storage keeps a
// component's client in: {kind}_{type}_{name}[_{client name}], with every
// character other than letters, digits, '.', '-' and '_' written as ~XXXX.
// Contrib does not export it; TestFileNameMatchesContrib holds the two
// together.
func fileName(kind component.Kind, owner component.ID, name string) string {
	raw := fmt.Sprintf("%s_%s_%s", kindString(kind), owner.Type(), owner.Name())
	if name != "" {
		raw += "_" + name
	}
	var b strings.Builder
	for _, r := range raw {
		if safeInFileName(r) {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "~%04X", r)
		}
	}
	return b.String()
}

func kindString(k component.Kind) string {
	switch k {
	case component.KindReceiver:
		return "receiver"
	case component.KindProcessor:
		return "processor"
	case component.KindExporter:
		return "exporter"
	case component.KindExtension:
		return "extension"
	case component.KindConnector:
		return "connector"
	default:
		return "other"
	}
}

func safeInFileName(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
}
