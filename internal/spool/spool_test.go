package spool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/component"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type host struct {
	exts map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.exts }

type queues struct {
	component.StartFunc
	component.ShutdownFunc
	dir     string
	queues  []Queue
	damaged []DamagedFile
}

func (q *queues) Directory() string           { return q.dir }
func (q *queues) Queues() []Queue             { return q.queues }
func (q *queues) DamagedFiles() []DamagedFile { return q.damaged }

type other struct {
	component.StartFunc
	component.ShutdownFunc
}

func TestSourcesAndDamagedFiles(t *testing.T) {
	t0 := time.Date(2025, 10, 19, 12, 0, 0, 0, time.UTC)
	csv := component.MustNewID("csv")
	a := &queues{dir: "/a", queues: []Queue{{Owner: csv, Kind: component.KindExporter, Name: "logs", Items: 3}},
		damaged: []DamagedFile{{Owner: csv, Path: "/a/2", At: t0.Add(2 * time.Second)}}}
	b := &queues{dir: "/b", damaged: []DamagedFile{
		{Owner: csv, Path: "/b/1", At: t0.Add(time.Second)},
		{Owner: csv, Path: "/b/3", At: t0.Add(3 * time.Second)},
	}}
	h := host{exts: map[component.ID]component.Component{
		component.MustNewIDWithName("file_storage", "a"): a,
		component.MustNewIDWithName("file_storage", "b"): b,
		component.MustNewID("health_check"):              &other{},
	}}

	sources := Sources(h)
	assert.Len(t, sources, 2)
	var items int64
	for _, s := range sources {
		for _, q := range s.Queues() {
			items += q.Items
		}
	}
	assert.Equal(t, int64(3), items)

	var paths []string
	for _, d := range DamagedFiles(h) {
		paths = append(paths, d.Path)
	}
	assert.Equal(t, []string{"/b/1", "/a/2", "/b/3"}, paths, "oldest first, across extensions")

	assert.Nil(t, Sources(nil))
	assert.Nil(t, DamagedFiles(nil))
	assert.Empty(t, DamagedFiles(host{}))
}
