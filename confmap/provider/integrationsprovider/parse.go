package integrationsprovider // import "github.com/wafermonitor/wafermonitor/confmap/provider/integrationsprovider"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Integration types of the old sidecar.
const (
	typeLocalAPI      = "local_api"
	typeAWSCloudWatch = "aws_cloudwatch"
	typeAWSXRay       = "aws_xray"
	typeZabbix        = "zabbix"
	typeELK           = "elk"
	typeCSV           = "csv"
	typeJSON          = "json"
	typeWebhook       = "webhook"
)

var knownTypes = []string{typeLocalAPI, typeAWSCloudWatch, typeAWSXRay, typeZabbix, typeELK, typeCSV, typeJSON, typeWebhook}

// entryKeys are the keys of an entry; anything else is reported.
var entryKeys = []string{"type", "name", "enabled", "config"}

// entry is one integration of the list.
type entry struct {
	// position in the list, from 1, for messages
	position int
	typ      string
	name     string
	enabled  bool
	config   map[string]json.RawMessage
	// unknown lists keys of the entry the old format does not have.
	unknown []string
}

func (e *entry) String() string {
	switch {
	case e.name != "" && e.typ != "":
		return fmt.Sprintf("entry %d (%q, type %s)", e.position, e.name, e.typ)
	case e.typ != "":
		return fmt.Sprintf("entry %d (type %s)", e.position, e.typ)
	case e.name != "":
		return fmt.Sprintf("entry %d (%q)", e.position, e.name)
	}
	return fmt.Sprintf("entry %d", e.position)
}

// parse reads the JSON list of integrations. Every problem is reported,
// each naming the entry and the key.
func parse(data []byte) ([]*entry, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("it is empty: expected a JSON array of integrations, e.g. [{\"type\": \"local_api\", \"name\": \"primary\", \"config\": {\"base_url\": \"http://local-api:18000\"}}]")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, jsonError(data, err)
	}
	var entries []*entry
	var errs []error
	for i, r := range raw {
		e, err := parseEntry(i+1, r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e)
	}
	return entries, errors.Join(errs...)
}

func parseEntry(position int, raw json.RawMessage) (*entry, error) {
	e := &entry{position: position, enabled: true}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%s: must be an object with type, name, enabled and config, got %s", e, jsonKind(raw))
	}
	var errs []error
	if t, ok := fields["type"]; !ok {
		errs = append(errs, fmt.Errorf("type: missing; one of %s", strings.Join(knownTypes, ", ")))
	} else if err := json.Unmarshal(t, &e.typ); err != nil || e.typ == "" {
		errs = append(errs, fmt.Errorf("type: must be a non-empty string, got %s", jsonKind(t)))
	}
	e.name = "unnamed"
	if n, ok := fields["name"]; ok && string(n) != "null" {
		if err := json.Unmarshal(n, &e.name); err != nil {
			errs = append(errs, fmt.Errorf("name: must be a string, got %s", jsonKind(n)))
		}
	}
	if en, ok := fields["enabled"]; ok && string(en) != "null" {
		if enabled, ok := parseBool(en); ok {
			e.enabled = enabled
		} else {
			errs = append(errs, fmt.Errorf("enabled: must be true or false, got %s", en))
		}
	}
	if c, ok := fields["config"]; ok && string(c) != "null" {
		if err := json.Unmarshal(c, &e.config); err != nil {
			errs = append(errs, fmt.Errorf("config: must be an object, got %s", jsonKind(c)))
		}
	}
	if e.config == nil {
		e.config = map[string]json.RawMessage{}
	}
	for k := range fields {
		if !slices.Contains(entryKeys, k) {
			e.unknown = append(e.unknown, k)
		}
	}
	slices.Sort(e.unknown)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %w", e, errors.Join(errs...))
	}
	return e, nil
}

// parseBool takes a JSON boolean, or the strings "true" and "false" that
// environment-filled files hold.
func parseBool(raw json.RawMessage) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// jsonError says where the JSON is wrong, by line and column.
func jsonError(data []byte, err error) error {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		line, col := position(data, syntax.Offset)
		return fmt.Errorf("not valid JSON: %w (line %d, column %d)", err, line, col)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Errorf("must be a JSON array of integrations, got %s", jsonKind(bytes.TrimSpace(data)))
	}
	return fmt.Errorf("not valid JSON: %w", err)
}

func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n') - 1
	return line, col
}

// jsonKind names the JSON type of a value, for messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// quote is s as a JSON string.
func quote(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
