package pipelinehealth

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/goleak"

	"github.com/wafermonitor/wafermonitor/internal/spool"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

type provider struct {
	component.StartFunc
	component.ShutdownFunc
	name string
}

func (p *provider) PipelineHealth(component.ID) Report { return Report{SpoolDir: p.name} }

type storage struct {
	component.StartFunc
	component.ShutdownFunc
	dir     string
	queues  []spool.Queue
	damaged []spool.DamagedFile
}

func (s *storage) Directory() string                 { return s.dir }
func (s *storage) Queues() []spool.Queue             { return s.queues }
func (s *storage) DamagedFiles() []spool.DamagedFile { return s.damaged }

func TestStatus(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	damaged := []DamagedFile{{DegradedUntil: at}}
	for _, tt := range []struct {
		name string
		r    Report
		want Status
	}{
		{"nothing", Report{}, StatusOK},
		{"recovering", Report{Recovering: []Recovering{{}}}, StatusRecovering},
		{"failing and recovering", Report{Recovering: []Recovering{{}}, Failing: []Failure{{}}}, StatusDegraded},
		{"damaged file within its time", Report{Damaged: damaged, Recovering: []Recovering{{}}}, StatusDegraded},
	} {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.r.Status(at.Add(-time.Nanosecond))) })
	}
	assert.Equal(t, StatusOK, Report{Damaged: damaged}.Status(at), "its time has passed")
}

func TestFindProvider(t *testing.T) {
	assert.Nil(t, FindProvider(nil))
	assert.Nil(t, FindProvider(host{exts: map[component.ID]component.Component{component.MustNewID("file_storage"): &storage{}}}))
	h := host{exts: map[component.ID]component.Component{
		component.MustNewIDWithName("pipeline_health", "b"): &provider{name: "b"},
		component.MustNewIDWithName("pipeline_health", "a"): &provider{name: "a"},
		component.MustNewID("file_storage"):                 &storage{},
	}}
	for range 10 {
		assert.Equal(t, "a", FindProvider(h).PipelineHealth(component.ID{}).SpoolDir, "the first by ID")
	}
}

// TestAddStorage: the queues and damaged files of the components include
// accepts; damaged files whose kept copy is gone are left out.
func TestAddStorage(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "exporter_csv__logs.damaged-20260101T000000Z")
	require.NoError(t, os.WriteFile(kept, nil, 0o600))
	csv, webhook := component.MustNewID("csv"), component.MustNewID("webhook")
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &storage{dir: "/b", queues: []spool.Queue{
		{Owner: csv, Kind: component.KindExporter, Name: "logs", Items: 3},
		{Owner: webhook, Kind: component.KindExporter, Name: "logs", Items: 100},
	}, damaged: []spool.DamagedFile{
		{Owner: csv, Kind: component.KindExporter, Name: "logs", MovedTo: kept, At: at},
		{Owner: csv, Kind: component.KindExporter, Name: "traces", MovedTo: filepath.Join(dir, "removed"), At: at},
		{Owner: webhook, Kind: component.KindExporter, Name: "logs", MovedTo: kept, At: at},
	}}
	b := &storage{dir: "/a"}
	h := host{exts: map[component.ID]component.Component{
		component.MustNewIDWithName("file_storage", "a"): a, component.MustNewIDWithName("file_storage", "b"): b,
	}}

	var r Report
	r.AddStorage(h, func(o Owner) bool { return o.ID == csv }, time.Hour)
	assert.Equal(t, int64(3), r.SpoolCount)
	assert.Equal(t, "/b", r.SpoolDir, "the directory of the queues counted")
	assert.Equal(t, []DamagedFile{{DamagedFile: a.damaged[0], DegradedUntil: at.Add(time.Hour)}}, r.Damaged)

	all := Unscoped(h)
	assert.Equal(t, int64(103), all.SpoolCount)
	assert.Len(t, all.Damaged, 2)
	assert.Equal(t, at.Add(DefaultDamagedDegradedFor), all.Damaged[0].DegradedUntil)
	assert.Nil(t, all.Pipelines, "unknown")

	r = Report{}
	r.AddStorage(h, func(Owner) bool { return false }, time.Hour)
	assert.Equal(t, "/a", r.SpoolDir, "no queue counted: the first directory")
}
