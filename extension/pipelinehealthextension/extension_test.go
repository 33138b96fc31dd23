package pipelinehealthextension

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/wafermonitor/wafermonitor/internal/pipelinehealth"
	"github.com/wafermonitor/wafermonitor/internal/spool"
)

var (
	wafermonitor = component.MustNewID("wafermonitor")
	otlp         = component.MustNewID("otlp")
)

// TestOnlyTheReceiversPipelines: a receiver's report holds the components
// of the pipelines it feeds, directly or through a connector, and none of
// the others'; receivers are not part of it.
func TestOnlyTheReceiversPipelines(t *testing.T) {
	st := &storage{dir: "/data/queue"}
	e := start(t, nil, st)
	csvLogs := instanceID(t, component.KindExporter, "csv", "logs")
	csvTraces := instanceID(t, component.KindExporter, "csv", "traces")
	webhook := instanceID(t, component.KindExporter, "webhook", "logs/other")
	prometheus := instanceID(t, component.KindExporter, "prometheus", "metrics/derived")
	jobhierarchy := instanceID(t, component.KindProcessor, "jobhierarchy", "traces")
	spanmetrics := instanceID(t, component.KindConnector, "spanmetrics", "traces", "metrics/derived")
	otlpLogs := instanceID(t, component.KindReceiver, "otlp", "logs", "logs/other")
	started(e, csvLogs, csvTraces, webhook, prometheus, jobhierarchy, spanmetrics,
		instanceID(t, component.KindReceiver, "wafermonitor", "logs", "traces"), otlpLogs)
	st.set("csv", "logs", 7, 0)
	st.set("csv", "traces", 3, 0)
	st.set("webhook", "logs", 5, 0)

	r := e.PipelineHealth(wafermonitor)
	assert.Equal(t, []string{"logs", "metrics/derived", "traces"}, pipelineNames(r.Pipelines), "spanmetrics feeds metrics/derived")
	assert.Empty(t, r.Failing)
	assert.Equal(t, pipelinehealth.StatusOK, r.Status(time.Now()))
	assert.Equal(t, int64(10), r.SpoolCount, "csv's queues, not the webhook's")
	assert.Equal(t, "/data/queue", r.SpoolDir)

	refused := componentstatus.NewRecoverableErrorEvent(errors.New("connection refused"))
	e.ComponentStatusChanged(webhook, refused)
	e.ComponentStatusChanged(otlpLogs, componentstatus.NewFatalErrorEvent(errors.New("port in use")))
	assert.Empty(t, e.PipelineHealth(wafermonitor).Failing, "the webhook is not in wafermonitor's pipelines; receivers are left out")
	other := e.PipelineHealth(otlp)
	require.Len(t, other.Failing, 1)
	assert.Equal(t, pipelinehealth.Failure{
		ID: component.MustNewID("webhook"), Kind: component.KindExporter, Pipelines: pipelines(t, "logs/other"),
		Error: "connection refused", Since: refused.Timestamp(),
	}, other.Failing[0])
	assert.Equal(t, int64(12), other.SpoolCount, "csv (logs) and webhook (logs)")

	full := componentstatus.NewRecoverableErrorEvent(errors.New("no space left on device"))
	e.ComponentStatusChanged(prometheus, full)
	e.ComponentStatusChanged(prometheus, componentstatus.NewRecoverableErrorEvent(errors.New("later")))
	e.ComponentStatusChanged(jobhierarchy, componentstatus.NewPermanentErrorEvent(errors.New("state unreadable")))
	r = e.PipelineHealth(wafermonitor)
	require.Len(t, r.Failing, 2)
	assert.Equal(t, "prometheus", r.Failing[0].ID.String(), "exporters, then processors")
	assert.Equal(t, full.Timestamp(), r.Failing[0].Since, "since the failure started")
	assert.Equal(t, "later", r.Failing[0].Error, "the latest error")
	assert.False(t, r.Failing[0].Permanent)
	assert.Equal(t, "jobhierarchy", r.Failing[1].ID.String())
	assert.True(t, r.Failing[1].Permanent)
	assert.Equal(t, pipelinehealth.StatusDegraded, r.Status(time.Now()))

	assert.Empty(t, e.PipelineHealth(component.MustNewID("unknown")).Pipelines, "a receiver in no pipeline watches none")
}

// TestRecoveringUntilTheBacklogIsWritten: an exporter that failed and
// delivers again is recovering while its queue holds what was queued when
// it did; items queued after that do not keep it recovering.
func TestRecoveringUntilTheBacklogIsWritten(t *testing.T) {
	st := &storage{dir: "/data/queue"}
	e := start(t, nil, st)
	csv := instanceID(t, component.KindExporter, "csv", "logs")
	started(e, csv, instanceID(t, component.KindReceiver, "wafermonitor", "logs"))
	st.set("csv", "logs", 0, 1000)
	status := func() pipelinehealth.Status { return e.PipelineHealth(wafermonitor).Status(time.Now()) }

	e.ComponentStatusChanged(csv, componentstatus.NewRecoverableErrorEvent(errors.New("no space left on device")))
	st.set("csv", "logs", 760, 1000)
	assert.Equal(t, pipelinehealth.StatusDegraded, status())

	back := componentstatus.NewEvent(componentstatus.StatusOK)
	e.ComponentStatusChanged(csv, back)
	r := e.PipelineHealth(wafermonitor)
	assert.Equal(t, pipelinehealth.StatusRecovering, r.Status(time.Now()))
	assert.Equal(t, []pipelinehealth.Recovering{{ID: component.MustNewID("csv"), Pipelines: r.Pipelines, Queued: 760, Backlog: 760, Since: back.Timestamp()}}, r.Recovering)

	// 500 written, 40 new queued: 260 of the backlog left.
	st.set("csv", "logs", 300, 1500)
	r = e.PipelineHealth(wafermonitor)
	require.Len(t, r.Recovering, 1)
	assert.Equal(t, int64(300), r.Recovering[0].Queued)
	assert.Equal(t, int64(260), r.Recovering[0].Backlog)
	assert.Equal(t, int64(300), r.SpoolCount)

	// The backlog written; new items wait in the queue as they always do.
	st.set("csv", "logs", 40, 1760)
	assert.Equal(t, pipelinehealth.StatusOK, status())
	st.set("csv", "logs", 0, 1800)
	assert.Equal(t, pipelinehealth.StatusOK, status(), "the backlog is forgotten once written")

	// Failing again while recovering is degraded; a queue that empties
	// ends the recovery whatever was counted.
	e.ComponentStatusChanged(csv, componentstatus.NewRecoverableErrorEvent(errors.New("full again")))
	st.set("csv", "logs", 100, 1800)
	e.ComponentStatusChanged(csv, componentstatus.NewEvent(componentstatus.StatusOK))
	e.ComponentStatusChanged(csv, componentstatus.NewRecoverableErrorEvent(errors.New("and again")))
	assert.Equal(t, pipelinehealth.StatusDegraded, status())
	e.ComponentStatusChanged(csv, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, pipelinehealth.StatusRecovering, status())
	st.set("csv", "logs", 0, 1800)
	assert.Equal(t, pipelinehealth.StatusOK, status())

	// An exporter whose queue was empty when it delivered again, and one
	// without a persistent queue, are ok at once.
	e.ComponentStatusChanged(csv, componentstatus.NewRecoverableErrorEvent(errors.New("blip")))
	e.ComponentStatusChanged(csv, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, pipelinehealth.StatusOK, status())
	webhook := instanceID(t, component.KindExporter, "webhook", "logs")
	started(e, webhook)
	e.ComponentStatusChanged(webhook, componentstatus.NewRecoverableErrorEvent(errors.New("down")))
	e.ComponentStatusChanged(webhook, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Equal(t, pipelinehealth.StatusOK, status())
}

// TestDamagedFiles: files moved aside for a component of the receiver's
// pipelines are listed while their kept copy is there, and make the answer
// degraded for damaged_files::degraded_for; removing the copy acknowledges
// the file.
func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	kept := func(name string) string {
		p := filepath.Join(dir, name+".damaged-20260101T000000Z")
		require.NoError(t, os.WriteFile(p, []byte("damaged"), 0o600))
		return p
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	csvFile := spool.DamagedFile{Owner: component.MustNewID("csv"), Kind: component.KindExporter, Name: "logs",
		Path: filepath.Join(dir, "exporter_csv__logs"), MovedTo: kept("exporter_csv__logs"), Problem: "file size too small", At: at}
	stateFile := spool.DamagedFile{Owner: component.MustNewID("jobhierarchy"), Kind: component.KindProcessor,
		Path: filepath.Join(dir, "processor_jobhierarchy_"), MovedTo: kept("processor_jobhierarchy_"), Problem: "page 4 out of range", At: at.Add(time.Second)}
	otherFile := spool.DamagedFile{Owner: component.MustNewID("webhook"), Kind: component.KindExporter, Name: "logs",
		Path: filepath.Join(dir, "exporter_webhook__logs"), MovedTo: kept("exporter_webhook__logs"), Problem: "not a bbolt file", At: at}
	st := &storage{dir: dir, damaged: []spool.DamagedFile{csvFile, otherFile, stateFile}}
	e := start(t, &Config{DamagedFiles: DamagedFilesConfig{DegradedFor: time.Hour}}, st)
	started(e, instanceID(t, component.KindReceiver, "wafermonitor", "logs"),
		instanceID(t, component.KindExporter, "csv", "logs"), instanceID(t, component.KindExporter, "webhook", "logs/other"),
		instanceID(t, component.KindProcessor, "jobhierarchy", "logs"))

	r := e.PipelineHealth(wafermonitor)
	assert.Equal(t, []pipelinehealth.DamagedFile{
		{DamagedFile: csvFile, DegradedUntil: at.Add(time.Hour)},
		{DamagedFile: stateFile, DegradedUntil: at.Add(time.Hour + time.Second)},
	}, r.Damaged, "the webhook's file belongs to another pipeline")
	assert.Equal(t, pipelinehealth.StatusDegraded, r.Status(at.Add(time.Hour)))
	assert.Equal(t, pipelinehealth.StatusOK, r.Status(at.Add(time.Hour+time.Second)), "degraded_for has passed")

	require.NoError(t, os.Remove(csvFile.MovedTo))
	require.NoError(t, os.Rename(stateFile.MovedTo, filepath.Join(t.TempDir(), "saved")))
	r = e.PipelineHealth(wafermonitor)
	assert.Empty(t, r.Damaged, "acknowledged by moving the kept copies away")
	assert.Equal(t, pipelinehealth.StatusOK, r.Status(at))
}

// TestStatusEventsBeforeStart: the collector may report statuses before the
// extension starts, or with no storage extension at all.
func TestStatusEventsBeforeStart(t *testing.T) {
	e := start(t, nil, nil)
	csv := instanceID(t, component.KindExporter, "csv", "logs")
	started(e, csv, instanceID(t, component.KindReceiver, "wafermonitor", "logs"))
	e.ComponentStatusChanged(csv, componentstatus.NewRecoverableErrorEvent(errors.New("down")))
	e.ComponentStatusChanged(csv, componentstatus.NewEvent(componentstatus.StatusOK))
	r := e.PipelineHealth(wafermonitor)
	assert.Equal(t, pipelinehealth.StatusOK, r.Status(time.Now()))
	assert.Equal(t, int64(0), r.SpoolCount)
	assert.Empty(t, r.SpoolDir)

	fresh := &pipelineHealth{instances: map[componentstatus.InstanceID]*instance{}}
	fresh.ComponentStatusChanged(csv, componentstatus.NewEvent(componentstatus.StatusStarting))
	fresh.ComponentStatusChanged(csv, componentstatus.NewRecoverableErrorEvent(errors.New("down")))
	fresh.ComponentStatusChanged(csv, componentstatus.NewEvent(componentstatus.StatusOK))
	assert.Empty(t, fresh.PipelineHealth(wafermonitor).Failing)
}
