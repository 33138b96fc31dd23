package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
	"github.com/wafermonitor/wafermonitor/sdk/ids"
)

// Fake static credentials: the fake services check the SigV4 signature with
// the same secret, as AWS would.
const (
	awsTestAccessKey = "AKIDWAFERMONITORTEST"
	awsTestSecretKey = "wafermonitor/test/secret/key/not/a/real/one00"
	awsTestRegion    = "eu-central-1"
)

// fakeAWS answers the AWS APIs the exporters call, on loopback, closely
// enough to record what the real service would receive: X-Ray
// PutTraceSegments (REST JSON) and CloudWatch Logs CreateLogGroup,
// CreateLogStream, PutRetentionPolicy and PutLogEvents (JSON 1.1 with
// X-Amz-Target), with the errors the real service gives for a missing log
// group or stream. Every request's SigV4 signature is verified.
type fakeAWS struct {
	t       *testing.T
	service string // signing name: xray or logs

	mu        sync.Mutex
	srv       *httptest.Server
	down      bool // answer every call with 503 ServiceUnavailableException
	refused   int  // calls answered so while down
	calls     []string
	authErrs  []string
	headers   []http.Header
	segments  []map[string]any
	groups    map[string]map[string][]cwlEvent
	retention map[string]int
}

type cwlEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

func newFakeAWS(t *testing.T, service string) *fakeAWS {
	f := &fakeAWS{t: t, service: service, groups: map[string]map[string][]cwlEvent{}, retention: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAWS) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if msg := verifySigV4(r, body, f.service); msg != "" {
		f.authErrs = append(f.authErrs, msg)
		writeAWSError(w, http.StatusForbidden, "application/json", "InvalidSignatureException", msg)
		return
	}
	f.headers = append(f.headers, r.Header.Clone())
	if f.down {
		f.refused++
		ct := "application/x-amz-json-1.1"
		if r.URL.Path == "/TraceSegments" {
			ct = "application/json"
		}
		writeAWSError(w, http.StatusServiceUnavailable, ct, "ServiceUnavailableException", "The service is unavailable. Please try again later.")
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/TraceSegments" {
		f.calls = append(f.calls, "PutTraceSegments")
		f.putTraceSegments(w, body)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	if r.Method != http.MethodPost || r.URL.Path != "/" || !ok ||
		r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		writeAWSError(w, http.StatusBadRequest, "application/json", "UnknownOperationException", r.Method+" "+r.URL.Path+" "+target)
		return
	}
	f.calls = append(f.calls, op)
	var in struct {
		LogGroupName    string     `json:"logGroupName"`
		LogStreamName   string     `json:"logStreamName"`
		RetentionInDays int        `json:"retentionInDays"`
		LogEvents       []cwlEvent `json:"logEvents"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeAWSError(w, http.StatusBadRequest, "application/x-amz-json-1.1", "SerializationException", err.Error())
		return
	}
	const ct = "application/x-amz-json-1.1"
	streams, groupExists := f.groups[in.LogGroupName]
	switch op {
	case "CreateLogGroup":
		if groupExists {
			writeAWSError(w, http.StatusBadRequest, ct, "ResourceAlreadyExistsException", "The specified log group already exists")
			return
		}
		f.groups[in.LogGroupName] = map[string][]cwlEvent{}
	case "PutRetentionPolicy":
		if !groupExists {
			writeAWSError(w, http.StatusBadRequest, ct, "ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		f.retention[in.LogGroupName] = in.RetentionInDays
	case "CreateLogStream":
		if !groupExists {
			writeAWSError(w, http.StatusBadRequest, ct, "ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		if _, ok := streams[in.LogStreamName]; ok {
			writeAWSError(w, http.StatusBadRequest, ct, "ResourceAlreadyExistsException", "The specified log stream already exists")
			return
		}
		streams[in.LogStreamName] = []cwlEvent{}
	case "PutLogEvents":
		events, ok := streams[in.LogStreamName]
		if !groupExists || !ok {
			writeAWSError(w, http.StatusBadRequest, ct, "ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		// The rules of the real API: events of one call in chronological
		// order, none older than 14 days or more than 2 hours ahead.
		now := time.Now()
		for i, e := range in.LogEvents {
			if i > 0 && e.Timestamp < in.LogEvents[i-1].Timestamp {
				writeAWSError(w, http.StatusBadRequest, ct, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
				return
			}
			ts := time.UnixMilli(e.Timestamp)
			if ts.Before(now.Add(-14*24*time.Hour)) || ts.After(now.Add(2*time.Hour)) {
				writeAWSError(w, http.StatusBadRequest, ct, "InvalidParameterException", "log event timestamp out of range")
				return
			}
		}
		streams[in.LogStreamName] = append(events, in.LogEvents...)
		w.Header().Set("Content-Type", ct)
		_, _ = io.WriteString(w, `{"nextSequenceToken":"49039859616928839283774483888492927459376456123"}`)
		return
	default:
		// TagResource, DescribeLogGroups, ...: accepted, nothing recorded.
	}
	w.Header().Set("Content-Type", ct)
	_, _ = io.WriteString(w, `{}`)
}

func (f *fakeAWS) putTraceSegments(w http.ResponseWriter, body []byte) {
	var in struct {
		TraceSegmentDocuments []string `json:"TraceSegmentDocuments"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeAWSError(w, http.StatusBadRequest, "application/json", "InvalidRequestException", err.Error())
		return
	}
	for _, d := range in.TraceSegmentDocuments {
		var seg map[string]any
		if err := json.Unmarshal([]byte(d), &seg); err != nil {
			writeAWSError(w, http.StatusBadRequest, "application/json", "InvalidRequestException", "segment document is not JSON")
			return
		}
		f.segments = append(f.segments, seg)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"UnprocessedTraceSegments":[]}`)
}

func writeAWSError(w http.ResponseWriter, status int, contentType, code, msg string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	_, _ = w.Write(b)
}

// verifySigV4 checks an AWS Signature Version 4 Authorization header against
// the fake credentials, and returns what is wrong, or "".
func verifySigV4(r *http.Request, body []byte, service string) string {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "no SigV4 Authorization header: " + auth
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != awsTestAccessKey || scope[2] != awsTestRegion || scope[3] != service || scope[4] != "aws4_request" {
		return "credential scope " + fields["Credential"]
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if !strings.HasPrefix(amzDate, scope[1]) {
		return "X-Amz-Date " + amzDate + " does not match the scope date " + scope[1]
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		sum := sha256.Sum256(body)
		payloadHash = hex.EncodeToString(sum[:])
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canonHeaders strings.Builder
	for _, h := range signed {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = fmt.Sprint(r.ContentLength)
		default:
			v = strings.Join(r.Header.Values(h), ",")
		}
		canonHeaders.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canonical := strings.Join([]string{
		r.Method, r.URL.EscapedPath(), r.URL.RawQuery, canonHeaders.String(), fields["SignedHeaders"], payloadHash,
	}, "\n")
	sum := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, strings.Join(scope[1:], "/"), hex.EncodeToString(sum[:])}, "\n")
	key := []byte("AWS4" + awsTestSecretKey)
	for _, s := range append(scope[1:4], "aws4_request") {
		key = hmacSHA256(key, s)
	}
	if want := hex.EncodeToString(hmacSHA256(key, toSign)); want != fields["Signature"] {
		return "signature mismatch for signed headers " + fields["SignedHeaders"]
	}
	return ""
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func (f *fakeAWS) snapshotSegments() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.segments...)
}

// jobsStream returns the events of a stream of the lifecycle events' log group.
func (f *fakeAWS) jobsStream(stream string) []cwlEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cwlEvent(nil), f.groups["/wafer-monitor/jobs"][stream]...)
}

func (f *fakeAWS) allEvents() []cwlEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []cwlEvent
	for _, streams := range f.groups {
		for _, evs := range streams {
			all = append(all, evs...)
		}
	}
	return all
}

func (f *fakeAWS) checkAuth(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.authErrs) > 0 {
		t.Errorf("%s: requests with a bad signature: %v", f.service, f.authErrs)
	}
}

func awsEnv(t *testing.T, xray, cwl, emf *fakeAWS) []string {
	return []string{
		fmt.Sprintf("WAFERMONITOR_AWS_SPOOL_ENDPOINT=127.0.0.1:%d", testcollector.FreePort(t)),
		"AWS_ACCESS_KEY_ID=" + awsTestAccessKey,
		"AWS_SECRET_ACCESS_KEY=" + awsTestSecretKey,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + awsTestRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"WAFERMONITOR_XRAY_ENDPOINT=" + xray.srv.URL,
		"WAFERMONITOR_CWL_ENDPOINT=" + cwl.srv.URL,
		"WAFERMONITOR_EMF_ENDPOINT=" + emf.srv.URL,
		"WAFERMONITOR_EMF_INTERVAL=1s",
	}
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func uuidBytes(t *testing.T, s string) ids.UUID {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		t.Fatalf("bad UUID %q", s)
	}
	return ids.UUID(b)
}

// TestAWSEndToEnd runs the collector with docs/aws.yaml against fake X-Ray
// and CloudWatch Logs services and checks what they receive for a lot of two
// wafers, one of which fails.
func TestAWSEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs the collector binary")
	}
	xray, cwl, emf := newFakeAWS(t, "xray"), newFakeAWS(t, "logs"), newFakeAWS(t, "logs")
	dir := t.TempDir()
	c := startBackendCollector(t, dir, awsEnv(t, xray, cwl, emf), "docs/aws.yaml")

	l := newLot("litho-scheduler", "lot-4711",
		"a1b2c3d4-0000-4000-8000-0000000000a1", "c3a9e1f0-0000-4000-8000-0000000000b1", "c3a9e1f0-0000-4000-8000-0000000000b2",
		time.Now().Add(-5*time.Minute).Truncate(time.Millisecond))
	c.postEvents(l.events())

	t.Run("XRay", func(t *testing.T) {
		testcollector.WaitFor(t, 60*time.Second, "three segment documents", func() bool { return len(xray.snapshotSegments()) >= 3 })
		checkXRaySegments(t, l, xray.snapshotSegments())
		xray.checkAuth(t)
	})
	t.Run("CloudWatchLogs", func(t *testing.T) {
		testcollector.WaitFor(t, 60*time.Second, "seven log events", func() bool {
			return len(cwl.jobsStream(l.site)) >= 7
		})
		checkLogEvents(t, l, cwl.jobsStream(l.site))
		cwl.checkAuth(t)
		cwl.mu.Lock()
		defer cwl.mu.Unlock()
		// On a fresh account the stream's group does not exist: the exporter
		// creates the group, then the stream, then puts the events.
		if !containsInOrder(cwl.calls, "CreateLogStream", "CreateLogGroup", "CreateLogStream", "PutLogEvents") {
			t.Errorf("CloudWatch Logs calls %v", cwl.calls)
		}
	})
	t.Run("EMF", func(t *testing.T) {
		waitForEMF(t, l, emf)
		checkEMF(t, l, emf)
		emf.checkAuth(t)
	})
	// While X-Ray and CloudWatch Logs are down, segments and log events wait
	// in the queues on disk, and the collector is killed and restarted
	// without losing them.
	t.Run("QueuesSurviveRestart", func(t *testing.T) {
		setDown := func(down bool) {
			for _, f := range []*fakeAWS{xray, cwl} {
				f.mu.Lock()
				f.down = down
				f.mu.Unlock()
			}
		}
		refused := func(f *fakeAWS) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.refused > 0
		}
		setDown(true)
		l2 := newLot("litho-scheduler", "lot-4712",
			"a1b2c3d4-0000-4000-8000-0000000000a2", "c3a9e1f0-0000-4000-8000-0000000000b3", "c3a9e1f0-0000-4000-8000-0000000000b4",
			time.Now().Add(-4*time.Minute).Truncate(time.Millisecond))
		c.postEvents(l2.events())
		testcollector.WaitFor(t, 60*time.Second, "refused calls to X-Ray and CloudWatch Logs", func() bool {
			return refused(xray) && refused(cwl)
		})
		// Killed, as a crash would: the batches being retried are only in
		// the queues' files.
		c.Kill()
		setDown(false)

		startBackendCollector(t, dir, awsEnv(t, xray, cwl, emf), "docs/aws.yaml")
		testcollector.WaitFor(t, 60*time.Second, "the second lot in X-Ray and CloudWatch Logs", func() bool {
			return len(xray.snapshotSegments()) >= 6 && len(cwl.jobsStream(l2.site)) >= 14
		})
		segs := xray.snapshotSegments()
		checkXRaySegments(t, l2, segs[3:])
		checkLogEvents(t, l2, cwl.jobsStream(l2.site)[7:])
	})
}

// checkXRaySegments: the job is a segment, the wafers are subsegments of it in
// the same trace, the failed wafer is a fault with the error message, and
// site, app, business key, status and outcome are annotations.
func checkXRaySegments(t *testing.T, l lot, segs []map[string]any) {
	t.Helper()
	jobUUID := uuidBytes(t, l.job)
	jobSpan := ids.SpanID(jobUUID)
	// The job's UUID is the trace ID, written the X-Ray way.
	wantTrace := "1-" + hexOf(jobUUID[:4]) + "-" + hexOf(jobUUID[4:])
	byID := map[string]map[string]any{}
	for _, s := range segs {
		byID[fmt.Sprint(s["id"])] = s
	}
	if len(segs) != 3 {
		t.Errorf("%d segment documents, want 3: %v", len(segs), segs)
	}
	job := byID[hexOf(jobSpan[:])]
	if job == nil {
		t.Fatalf("no segment with the job's span ID %x: %v", jobSpan, segs)
	}
	if job["trace_id"] != wantTrace || job["type"] == "subsegment" || job["parent_id"] != nil && job["parent_id"] != "" {
		t.Errorf("job segment trace %v type %v parent %v; want trace %s, a segment without parent", job["trace_id"], job["type"], job["parent_id"], wantTrace)
	}
	if job["name"] != l.app {
		t.Errorf("job segment name %v, want the app %s", job["name"], l.app)
	}
	// The job span ends at the finished event and starts duration_s before.
	wantStart := float64(l.start.Add(90*time.Second).UnixNano())/1e9 - l.jobDuration
	if st, _ := job["start_time"].(float64); math.Abs(st-wantStart) > 0.001 {
		t.Errorf("job start_time %v, want %v", job["start_time"], wantStart)
	}
	if et, _ := job["end_time"].(float64); math.Abs(et-(wantStart+l.jobDuration)) > 0.001 {
		t.Errorf("job end_time %v, want %v", job["end_time"], wantStart+l.jobDuration)
	}
	ann, _ := job["annotations"].(map[string]any)
	for k, v := range map[string]any{"SiteId": l.site, "AppName": l.app, "BusinessKey": l.key, "EntityType": "job", "Status": "failed", "Outcome": "failure"} {
		if ann[k] != v {
			t.Errorf("job annotation %s = %v, want %v (all: %v)", k, ann[k], v, ann)
		}
	}
	// The job hierarchy's roll-ups travel as (unindexed) metadata.
	meta, _ := job["metadata"].(map[string]any)
	def, _ := meta["default"].(map[string]any)
	if def["wafer.job.subjobs.total"] != float64(2) || def["wafer.job.subjobs.failed"] != float64(1) {
		t.Errorf("job metadata roll-ups: total %v failed %v", def["wafer.job.subjobs.total"], def["wafer.job.subjobs.failed"])
	}
	if job["fault"] != true {
		t.Errorf("failed job: fault %v", job["fault"])
	}

	for _, w := range []struct {
		id, sub string
		failed  bool
	}{{l.ok, "wafer-01", false}, {l.bad, "wafer-02", true}} {
		span := ids.SpanID(uuidBytes(t, w.id))
		s := byID[hexOf(span[:])]
		if s == nil {
			t.Errorf("no subsegment for %s", w.sub)
			continue
		}
		if s["type"] != "subsegment" || s["parent_id"] != hexOf(jobSpan[:]) || s["trace_id"] != wantTrace {
			t.Errorf("%s: type %v parent %v trace %v; want a subsegment of %x in %s", w.sub, s["type"], s["parent_id"], s["trace_id"], jobSpan, wantTrace)
		}
		if s["name"] != "subjob "+l.key+"/"+w.sub {
			t.Errorf("%s: name %v", w.sub, s["name"])
		}
		ann, _ := s["annotations"].(map[string]any)
		if ann["SiteId"] != l.site || ann["BusinessKey"] != l.key || ann["EntityType"] != "subjob" {
			t.Errorf("%s: annotations %v", w.sub, ann)
		}
		if !w.failed {
			if s["fault"] == true || s["cause"] != nil || ann["Outcome"] != "success" {
				t.Errorf("%s: fault %v cause %v outcome %v", w.sub, s["fault"], s["cause"], ann["Outcome"])
			}
			continue
		}
		if s["fault"] != true || ann["Outcome"] != "failure" || ann["Status"] != "failed" {
			t.Errorf("%s: fault %v outcome %v status %v", w.sub, s["fault"], ann["Outcome"], ann["Status"])
		}
		cause, _ := s["cause"].(map[string]any)
		exc, _ := cause["exceptions"].([]any)
		if len(exc) != 1 || exc[0].(map[string]any)["message"] != l.errorMessage {
			t.Errorf("%s: cause %v, want the error message %q", w.sub, s["cause"], l.errorMessage)
		}
	}
}

// checkLogEvents: one event per lifecycle event, in order, each a JSON object
// with the fields operators search by.
func checkLogEvents(t *testing.T, l lot, events []cwlEvent) {
	t.Helper()
	if len(events) != 7 {
		t.Errorf("%d log events, want 7", len(events))
	}
	want := []struct {
		entity, event, status string
		at                    time.Duration
	}{
		{l.job, "started", "running", 0},
		{l.ok, "started", "running", time.Second},
		{l.ok, "finished", "succeeded", 31 * time.Second},
		{l.bad, "started", "running", 32 * time.Second},
		{l.bad, "error", "failed", 77 * time.Second},
		{l.job, "progress", "running", 78 * time.Second},
		{l.job, "finished", "failed", 90 * time.Second},
	}
	for i, e := range events {
		if i >= len(want) {
			break
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Errorf("event %d is not JSON: %s", i, e.Message)
			continue
		}
		w := want[i]
		if e.Timestamp != l.start.Add(w.at).UnixMilli() || m["entity_id"] != w.entity || m["event"] != w.event || m["status"] != w.status {
			t.Errorf("event %d: %d %v %v %v; want %d %s %s %s", i, e.Timestamp, m["entity_id"], m["event"], m["status"],
				l.start.Add(w.at).UnixMilli(), w.entity, w.event, w.status)
		}
		if m["site_id"] != l.site || m["app"] != l.app || m["business_key"] != l.key || m["trace_id"] != strings.ReplaceAll(l.job, "-", "") {
			t.Errorf("event %d: site %v app %v key %v trace %v", i, m["site_id"], m["app"], m["business_key"], m["trace_id"])
		}
		if _, ok := m["message"].(string); !ok {
			t.Errorf("event %d has no message: %v", i, m)
		}
		if w.entity == l.bad && w.event == "error" {
			if m["error_message"] != l.errorMessage || m["error_type"] != "ChamberFault" || m["outcome"] != "failure" ||
				m["severity"] != "ERROR" || m["parent_id"] != l.job || m["sub_key"] != "wafer-02" || m["duration_s"] != l.badDuration {
				t.Errorf("error event: %v", m)
			}
		}
	}
}

type emfTotal struct {
	count       float64
	sum         float64
	max         float64
	unit        string
	namespace   string
	dimensions  string
	extraFields []string
}

// emfTotals adds up the EMF events by metric name and dimensions
// (metric|EntityType[|Status]).
func emfTotals(t *testing.T, events []cwlEvent) map[string]emfTotal {
	t.Helper()
	out := map[string]emfTotal{}
	for _, e := range events {
		var m map[string]any
		if err := json.Unmarshal([]byte(e.Message), &m); err != nil {
			t.Errorf("EMF event is not JSON: %s", e.Message)
			continue
		}
		aws, _ := m["_aws"].(map[string]any)
		cwms, _ := aws["CloudWatchMetrics"].([]any)
		for _, cwm := range cwms {
			def := cwm.(map[string]any)
			dims, _ := json.Marshal(def["Dimensions"])
			metrics, _ := def["Metrics"].([]any)
			for _, md := range metrics {
				md := md.(map[string]any)
				name := fmt.Sprint(md["Name"])
				key := name + "|" + fmt.Sprint(m["EntityType"])
				if name == "Completed" {
					key += "|" + fmt.Sprint(m["Status"])
				}
				tot := out[key]
				tot.unit, tot.namespace, tot.dimensions = fmt.Sprint(md["Unit"]), fmt.Sprint(def["Namespace"]), string(dims)
				switch v := m[name].(type) {
				case float64:
					tot.count += v
					tot.sum += v
				case map[string]any:
					c, _ := v["Count"].(float64)
					s, _ := v["Sum"].(float64)
					mx, _ := v["Max"].(float64)
					tot.count += c
					tot.sum += s
					tot.max = math.Max(tot.max, mx)
				}
				for _, k := range []string{"SiteId", "AppName"} {
					if m[k] == nil {
						tot.extraFields = append(tot.extraFields, "missing "+k)
					}
				}
				out[key] = tot
			}
		}
	}
	return out
}

// emfWant is what CloudWatch should have for the lot, by emfTotals' key.
func emfWant(l lot) map[string]emfTotal {
	// awsemf writes each dimension set sorted by name; CloudWatch does not
	// care about the order.
	dims := `[["AppName","EntityType","SiteId"]]`
	return map[string]emfTotal{
		"JobDuration|job":            {count: 1, sum: l.jobDuration, max: l.jobDuration, unit: "Seconds", dimensions: dims},
		"JobDuration|subjob":         {count: 2, sum: l.okDuration + l.badDuration, max: l.badDuration, unit: "Seconds", dimensions: dims},
		"CPUUserTime|subjob":         {count: 2, sum: l.okCPUUser + l.badCPUUser, max: l.badCPUUser, unit: "Seconds", dimensions: dims},
		"CPUSystemTime|job":          {count: 1, sum: 5, max: 5, unit: "Seconds", dimensions: dims},
		"MemoryMaxMB|subjob":         {count: 2, sum: l.okMem + l.badMem, max: l.badMem, unit: "Megabytes", dimensions: dims},
		"Completed|job|failed":       {count: 1, sum: 1, unit: "Count", dimensions: `[["AppName","EntityType","SiteId","Status"]]`},
		"Completed|subjob|failed":    {count: 1, sum: 1, unit: "Count", dimensions: `[["AppName","EntityType","SiteId","Status"]]`},
		"Completed|subjob|succeeded": {count: 1, sum: 1, unit: "Count", dimensions: `[["AppName","EntityType","SiteId","Status"]]`},
	}
}

// waitForEMF waits until every EMF metric of the lot has arrived: each
// connector sends on its own clock.
func waitForEMF(t *testing.T, l lot, emf *fakeAWS) {
	t.Helper()
	testcollector.WaitFor(t, 60*time.Second, "EMF metrics of the lot", func() bool {
		got := emfTotals(t, emf.allEvents())
		for k, w := range emfWant(l) {
			if got[k].count < w.count {
				return false
			}
		}
		return true
	})
}

func checkEMF(t *testing.T, l lot, emf *fakeAWS) {
	t.Helper()
	got := emfTotals(t, emf.allEvents())
	for k, w := range emfWant(l) {
		g, ok := got[k]
		if !ok {
			t.Errorf("no EMF metric %s", k)
			continue
		}
		// Values travel through a histogram of bounded error: compare to 1 %.
		near := func(a, b float64) bool { return math.Abs(a-b) <= 0.01*math.Max(1, math.Abs(b)) }
		if g.count != w.count || !near(g.sum, w.sum) || (w.max != 0 && !near(g.max, w.max)) ||
			g.unit != w.unit || g.namespace != "WaferMonitor" || g.dimensions != w.dimensions || len(g.extraFields) > 0 {
			t.Errorf("EMF %s = %+v, want %+v in namespace WaferMonitor", k, g, w)
		}
	}
	names := map[string]bool{}
	for k := range got {
		names[strings.SplitN(k, "|", 2)[0]] = true
	}
	var list []string
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	if strings.Join(list, ",") != "CPUSystemTime,CPUUserTime,Completed,JobDuration,MemoryMaxMB" {
		t.Errorf("EMF metric names %v", list)
	}
	emf.mu.Lock()
	defer emf.mu.Unlock()
	for _, h := range emf.headers {
		if h.Get("X-Amz-Target") == "Logs_20140328.PutLogEvents" && h.Get("X-Amzn-Logs-Format") != "json/emf" {
			t.Errorf("PutLogEvents without x-amzn-logs-format: json/emf")
		}
	}
	for g := range emf.groups {
		if g != "/wafer-monitor/metrics" {
			t.Errorf("EMF log group %s", g)
		}
	}
}

// containsInOrder reports whether want appears in calls as a subsequence.
func containsInOrder(calls []string, want ...string) bool {
	i := 0
	for _, c := range calls {
		if i < len(want) && c == want[i] {
			i++
		}
	}
	return i == len(want)
}
