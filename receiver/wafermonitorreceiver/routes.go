package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"net/http"
	"slices"
	"strings"
)

// Paths of the v1 API. Every variant a client of the old sidecar uses is served.
var (
	singlePaths = []string{"/v1/event", "/v1/ingest/events"}
	batchPaths  = []string{"/v1/events/batch", "/v1/ingest/events:batch", "/v1/ingest/batch"}
	healthPaths = []string{"/v1/health", "/v1/healthz", "/health"}
)

const metricsPath = "/metrics"

type route struct {
	method  string
	handler http.HandlerFunc
}

func (r *wafermonitorReceiver) newRoutes() map[string]route {
	routes := map[string]route{metricsPath: {http.MethodGet, newLegacyMetricsHandler(r.counters).ServeHTTP}}
	for _, p := range singlePaths {
		routes[p] = route{http.MethodPost, func(w http.ResponseWriter, req *http.Request) { r.handleEvents(w, req, p, false) }}
	}
	for _, p := range batchPaths {
		routes[p] = route{http.MethodPost, func(w http.ResponseWriter, req *http.Request) { r.handleEvents(w, req, p, true) }}
	}
	for _, p := range healthPaths {
		routes[p] = route{http.MethodGet, r.handleHealth}
	}
	return routes
}

func normalizePath(p string) string {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			return "/"
		}
	}
	return p
}

func isHealthPath(p string) bool { return slices.Contains(healthPaths, p) }

// pathLabel is the path as counted: a path of the API, or other.
func (r *wafermonitorReceiver) pathLabel(req *http.Request) string {
	path := normalizePath(req.URL.Path)
	if _, ok := r.routes[path]; !ok {
		return otherLabel
	}
	return path
}

// route dispatches by path (a trailing slash tolerated) and method. An
// unknown path and a wrong method are answered as the old sidecar's FastAPI
// server answered them, which clients may match on.
func (r *wafermonitorReceiver) route(w http.ResponseWriter, req *http.Request) {
	path := normalizePath(req.URL.Path)
	rt, ok := r.routes[path]
	if !ok {
		r.count(req.Context(), otherLabel, http.StatusNotFound)
		writeJSON(w, http.StatusNotFound, detailText{Detail: "Not Found"})
		return
	}
	headOfGet := rt.method == http.MethodGet && req.Method == http.MethodHead
	if req.Method != rt.method && !headOfGet {
		r.count(req.Context(), path, http.StatusMethodNotAllowed)
		allow := rt.method
		if rt.method == http.MethodGet {
			allow = "GET, HEAD"
		}
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, detailText{Detail: "Method Not Allowed"})
		return
	}
	rt.handler(w, req)
}
