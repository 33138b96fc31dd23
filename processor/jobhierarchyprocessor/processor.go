package jobhierarchyprocessor // import "github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor"

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/wafermonitor/wafermonitor/internal/entity"
	"github.com/wafermonitor/wafermonitor/processor/jobhierarchyprocessor/internal/metadata"
	"github.com/wafermonitor/wafermonitor/sdk/semconv"
)

var (
	typeJob    = metric.WithAttributeSet(attribute.NewSet(attribute.String(semconv.AttrEntityType, semconv.EntityTypeJob)))
	typeSubjob = metric.WithAttributeSet(attribute.NewSet(attribute.String(semconv.AttrEntityType, semconv.EntityTypeSubjob)))
)

func typeAttr(t string) metric.AddOption {
	if t == semconv.EntityTypeJob {
		return typeJob
	}
	return typeSubjob
}

// hierarchy is the processor's state and logic, shared by the logs and the
// traces pipeline that name the same configuration: the logs feed the
// watchdog, the traces the roll-ups, and the watchdog's spans go out through
// the traces pipeline.
type hierarchy struct {
	cfg       *Config
	id        component.ID
	logger    *zap.Logger
	version   string
	telemetry *metadata.TelemetryBuilder
	rules     []compiledRule
	// ctx is the context of the processor's own telemetry updates.
	ctx context.Context
	// now is the clock; tests replace it.
	now func() time.Time

	mu       sync.Mutex
	entities *table[*openEntity]
	jobs     *table[*jobSummary]
	lateJobs map[string]struct{}
	// evicted remembers jobs whose summary was dropped to make room.
	evicted *evictedJobs
	// idCount is how many subjob hashes the summaries hold.
	idCount int

	openCount atomic.Int64
	jobCount  atomic.Int64

	// schedules are the expected schedules; nil when none is configured.
	schedules *schedules

	// Set when the pipelines are built, before Start.
	nextLogs    consumer.Logs
	nextTraces  consumer.Traces
	nextMetrics consumer.Metrics

	client   storage.Client
	storeMu  sync.Mutex // serialises checkpoints
	store    checkpointer
	enc      batchEncoder // encodes the stored parts, h.mu held
	stop     chan struct{}
	wg       sync.WaitGroup
	checking bool       // the periodic check runs
	emitLock sync.Mutex // held by a check until it has emitted; reports' own events wait for it
	// checkChunk is how many entries a check handles per hold of h.mu;
	// pieceHook, when set, is called after each hold with its length.
	checkChunk int
	pieceHook  func(held time.Duration)
	// a check's buffers of rows (sweep.go)
	entityRows []*row[*openEntity]
	jobRows    []*row[*jobSummary]
	// fullWalk: a check looks at every entry, not only at those the due
	// index gives (the reference the index is held to).
	fullWalk bool
}

func newHierarchy(cfg *Config, set processor.Settings) (*hierarchy, error) {
	rules, err := compileRules(cfg.Watchdog.Rules)
	if err != nil {
		return nil, err
	}
	sched, err := newSchedules(cfg.Schedules)
	if err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	h := &hierarchy{
		cfg:       cfg,
		id:        set.ID,
		logger:    set.Logger,
		version:   set.BuildInfo.Version,
		telemetry: tb,
		rules:     rules,
		schedules: sched,
		ctx:       context.Background(),
		now:       time.Now,
		entities:  newTable[*openEntity](cfg.MaxOpenEntities, numEntityClasses),
		jobs:      newTable[*jobSummary](cfg.MaxJobSummaries, numSummaryClasses),
		lateJobs:  map[string]struct{}{},
		evicted:   newEvictedJobs(cfg.MaxJobSummaries),

		checkChunk: checkChunk,
	}
	h.indexDue()
	err = errors.Join(
		tb.RegisterProcessorJobhierarchyEntitiesOpenCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(h.openCount.Load())
			return nil
		}),
		tb.RegisterProcessorJobhierarchyJobSummariesCallback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(h.jobCount.Load())
			return nil
		}),
	)
	if err != nil {
		tb.Shutdown()
		return nil, err
	}
	return h, nil
}

// Start restores the state from the storage extension, when one is
// configured. The periodic check starts later, with StartSending.
func (h *hierarchy) Start(ctx context.Context, host component.Host) error {
	if h.cfg.Storage != nil {
		client, err := storageClient(ctx, host, *h.cfg.Storage, h.id)
		if err != nil {
			return err
		}
		h.useStorage(client)
		if err := errors.Join(h.restore(ctx), h.restoreSchedules(ctx)); err != nil {
			_ = client.Close(ctx)
			h.client = nil
			return err
		}
		// The restored state, moved on by the downtime, is written anew
		// before the pipelines run.
		if err := h.checkpoint(ctx, false); err != nil {
			h.logger.Warn("Writing the restored job hierarchy state to storage failed; retrying at the next check", zap.Error(err))
		}
	}
	if h.client == nil {
		h.mu.Lock()
		h.schedules.beginAll(h.now())
		h.mu.Unlock()
	}
	return nil
}

// StartSending starts the periodic check, whose synthetic events and spans
// go into every pipeline of the processor: the shared instance calls it
// once they all run (sharedcomponent.Sender).
func (h *hierarchy) StartSending() {
	if h.checking {
		return
	}
	h.stop = make(chan struct{})
	h.checking = true
	h.wg.Add(1)
	go h.run()
}

// StopSending stops the periodic check: the shared instance calls it at the
// first pipeline's Shutdown, before any pipeline it sends into stops. The
// state still takes what the other pipelines pass until the last Shutdown.
func (h *hierarchy) StopSending() {
	if !h.checking {
		return
	}
	close(h.stop)
	h.wg.Wait()
	h.checking = false
}

// useStorage keeps the state in client: from now on changes are tracked
// for the checkpoints.
func (h *hierarchy) useStorage(client storage.Client) {
	h.client = client
	h.entities.track, h.jobs.track, h.evicted.track = true, true, true
}

func (h *hierarchy) run() {
	defer h.wg.Done()
	ticker := time.NewTicker(h.cfg.CheckInterval)
	defer ticker.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-ticker.C:
			h.tick(context.Background())
		}
	}
}

// Shutdown stops the periodic check, if it still runs, and writes the state
// a last time.
func (h *hierarchy) Shutdown(ctx context.Context) error {
	h.StopSending()
	var err error
	if h.client != nil {
		err = errors.Join(h.checkpoint(ctx, true), h.client.Close(ctx))
		h.client = nil
	}
	h.telemetry.Shutdown()
	return err
}

// tick is one periodic check: the watchdog, orphan and late subjobs, the
// expiry of old summaries, the schedules' slots, then a checkpoint of what
// changed.
func (h *hierarchy) tick(ctx context.Context) {
	h.emitLock.Lock()
	now := h.now()
	em := newEmitter(h.version)
	h.sweepEntities(now, em)
	h.sweepJobs(now, em)
	h.mu.Lock()
	h.flushLate(now, em)
	h.schedules.sweep(now, em)
	md, sendMetrics := h.schedules.metricsDue(now, h.version)
	h.syncCounts()
	h.mu.Unlock()
	h.emit(ctx, em)
	if sendMetrics {
		h.emitMetrics(ctx, md)
	}
	h.emitLock.Unlock()
	if err := h.checkpoint(ctx, false); err != nil {
		h.logger.Warn("Writing the job hierarchy state to storage failed; retrying at the next check", zap.Error(err))
	}
}

func (h *hierarchy) syncCounts() {
	h.openCount.Store(int64(h.entities.len()))
	h.jobCount.Store(int64(h.jobs.len()))
}

// emit sends synthetic records and spans to the next consumers.
func (h *hierarchy) emit(ctx context.Context, em *emitter) {
	if n := em.logs.LogRecordCount(); n > 0 {
		if h.nextLogs == nil {
			h.logger.Debug("Dropping synthetic events: the processor is in no logs pipeline", zap.Int("records", n))
		} else if err := h.nextLogs.ConsumeLogs(ctx, em.logs); err != nil {
			h.logger.Warn("The logs pipeline refused synthetic job events", zap.Int("records", n), zap.Error(err))
		}
	}
	if n := em.traces.SpanCount(); n > 0 {
		if h.nextTraces == nil {
			h.logger.Debug("Dropping timeout spans: the processor is in no traces pipeline", zap.Int("spans", n))
		} else if err := h.nextTraces.ConsumeTraces(ctx, em.traces); err != nil {
			h.logger.Warn("The traces pipeline refused timeout spans", zap.Int("spans", n), zap.Error(err))
		}
	}
}

// processLogs feeds lifecycle records to the watchdog; the records pass
// unchanged. A stalled entity that reports again produces a recovered event,
// sent before the batch that revived it.
func (h *hierarchy) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	now := h.now()
	em := newEmitter(h.version)
	h.mu.Lock()
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				h.observeRecord(rl.Resource(), lrs.At(k), now, em)
			}
		}
	}
	h.syncCounts()
	h.mu.Unlock()
	if em.logs.LogRecordCount() > 0 || em.traces.SpanCount() > 0 {
		// A recovered event goes out after the stalled event of the check
		// that marked its entity: the check lets reports through between
		// its pieces but holds emitLock until it has emitted.
		h.emitLock.Lock()
		h.emit(ctx, em)
		h.emitLock.Unlock()
	}
	return ld, nil
}

// processTraces folds subjob spans into their job's summary, first for the
// whole batch, then annotates the job spans, so a job and its subjobs in one
// batch roll up completely.
func (h *hierarchy) processTraces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	rss := td.ResourceSpans()
	for pass := 0; pass < 2; pass++ {
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			res := entity.ResourceFrom(rs.Resource())
			sss := rs.ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					span := spans.At(k)
					v := entity.Of(span.Attributes())
					id := v.ID()
					if id == "" {
						continue
					}
					switch typ := v.Type(); {
					case pass == 0 && typ == semconv.EntityTypeSubjob:
						if parent := v.ParentID(); parent != "" {
							h.addSubjob(span, id, parent, res, now)
						}
					case pass == 1 && typ == semconv.EntityTypeJob:
						h.passJob(span, id, res, now)
					}
				}
			}
		}
	}
	h.syncCounts()
	return td, nil
}
