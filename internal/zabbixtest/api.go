package zabbixtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
)

// Call runs one method of the JSON-RPC API.
func (s *Server) Call(method string, params, result any) {
	s.t.Helper()
	req := map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
	if s.auth != "" {
		req["auth"] = s.auth
	}
	body, err := json.Marshal(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := http.Post(s.api, "application/json-rpc", bytes.NewReader(body)) //nolint:gosec,noctx // loopback test server
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatal(err)
	}
	if out.Error != nil {
		s.t.Fatalf("%s: %s %s", method, out.Error.Message, out.Error.Data)
	}
	if result != nil {
		if err := json.Unmarshal(out.Result, result); err != nil {
			s.t.Fatal(err)
		}
	}
}

// ImportTemplates imports the zabbix exporter's templates.
func (s *Server) ImportTemplates() {
	s.t.Helper()
	src, err := os.ReadFile(filepath.Join(repo(), "exporter", "zabbixexporter", "template", "wafermonitor_zabbix6.yaml"))
	if err != nil {
		s.t.Fatal(err)
	}
	create := map[string]bool{"createMissing": true, "updateExisting": true}
	var ok bool
	s.Call("configuration.import", map[string]any{
		"format": "yaml",
		"source": string(src),
		"rules": map[string]any{
			"groups": map[string]bool{"createMissing": true}, "templates": create, "items": create,
			"discoveryRules": create, "triggers": create,
		},
	}, &ok)
	if !ok {
		s.t.Fatal("configuration.import did not succeed")
	}
}

// CreateHost creates a host linked to every wafermonitor template and
// returns its id. extra adds parameters of host.create (macros, TLS
// settings).
func (s *Server) CreateHost(name string, extra ...map[string]any) string {
	s.t.Helper()
	var templates []struct {
		ID string `json:"templateid"`
	}
	s.Call("template.get", map[string]any{"output": []string{"templateid"}, "search": map[string]string{"host": "wafermonitor"}}, &templates)
	var groups []struct {
		ID string `json:"groupid"`
	}
	s.Call("hostgroup.get", map[string]any{"output": []string{"groupid"}, "filter": map[string]any{"name": []string{"Linux servers"}}}, &groups)
	if len(templates) == 0 || len(groups) == 0 {
		s.t.Fatalf("templates %v, host groups %v: import the templates first", templates, groups)
	}
	var links []map[string]string
	for _, tpl := range templates {
		links = append(links, map[string]string{"templateid": tpl.ID})
	}
	params := map[string]any{"host": name, "groups": []map[string]string{{"groupid": groups[0].ID}}, "templates": links}
	for _, e := range extra {
		for k, v := range e {
			params[k] = v
		}
	}
	var created struct {
		IDs []string `json:"hostids"`
	}
	s.Call("host.create", params, &created)
	return created.IDs[0]
}

// Macros is the host.create parameter for host macros.
func Macros(macros map[string]string) map[string]any {
	list := []map[string]string{}
	for k, v := range macros {
		list = append(list, map[string]string{"macro": k, "value": v})
	}
	return map[string]any{"macros": list}
}

// HostID returns the id of the host with the name.
func (s *Server) HostID(name string) string {
	s.t.Helper()
	var hosts []struct {
		ID string `json:"hostid"`
	}
	s.Call("host.get", map[string]any{"output": []string{"hostid"}, "filter": map[string]any{"host": name}}, &hosts)
	if len(hosts) != 1 {
		s.t.Fatalf("host %q: %d hosts", name, len(hosts))
	}
	return hosts[0].ID
}

// Item is an item of a host.
type Item struct {
	ID        string `json:"itemid"`
	Key       string `json:"key_"`
	ValueType string `json:"value_type"`
	State     string `json:"state"`
	Error     string `json:"error"`
	// Flags is 4 for an item that discovery created.
	Flags string `json:"flags"`
}

// Item returns the item of a host with the key, if there is one.
func (s *Server) Item(hostID, key string) (Item, bool) {
	s.t.Helper()
	var items []Item
	s.Call("item.get", map[string]any{"hostids": hostID, "output": []string{"itemid", "key_", "value_type", "state", "error", "flags"}, "filter": map[string]any{"key_": key}}, &items)
	if len(items) == 0 {
		return Item{}, false
	}
	return items[0], true
}

// Value is one value of an item's history.
type Value struct {
	Clock string `json:"clock"`
	NS    string `json:"ns"`
	Value string `json:"value"`
}

// History returns an item's values, oldest first.
func (s *Server) History(it Item) []Value {
	s.t.Helper()
	var values []Value
	s.Call("history.get", map[string]any{"itemids": it.ID, "history": it.ValueType, "output": "extend", "sortfield": "clock", "sortorder": "ASC"}, &values)
	return values
}

// Trigger is a trigger of a host, its name with macros expanded.
type Trigger struct {
	Name string `json:"description"`
	// Value is 1 while the trigger is in the problem state.
	Value      string `json:"value"`
	State      string `json:"state"`
	Error      string `json:"error"`
	Expression string `json:"expression"`
}

// Triggers returns the triggers of a host.
func (s *Server) Triggers(hostID string) []Trigger {
	s.t.Helper()
	var triggers []Trigger
	s.Call("trigger.get", map[string]any{"hostids": hostID, "output": []string{"description", "value", "state", "error", "expression"},
		"expandDescription": true, "expandExpression": true}, &triggers)
	return triggers
}

// Firing reports whether the trigger of the host named name is in the
// problem state.
func (s *Server) Firing(hostID, name string) bool {
	s.t.Helper()
	for _, tr := range s.Triggers(hostID) {
		if tr.Name == name {
			return tr.Value == "1"
		}
	}
	return false
}

// Problems returns the names of the host's open problems.
func (s *Server) Problems(hostID string) []string {
	s.t.Helper()
	var problems []struct {
		Name string `json:"name"`
	}
	s.Call("problem.get", map[string]any{"hostids": hostID, "output": []string{"name"}}, &problems)
	var names []string
	for _, p := range problems {
		names = append(names, p.Name)
	}
	return names
}
