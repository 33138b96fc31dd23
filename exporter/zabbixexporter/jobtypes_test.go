package zabbixexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A step of a job type's life: the clock moves by after, then the action
// happens, then the job type is in phase want.
type jobTypeStep struct {
	after time.Duration
	do    string // see, announced, announce-refused, accepted, refused, or "" (time passes)
	want  phase
}

func TestJobTypePhases(t *testing.T) {
	discovery := DiscoveryConfig{ItemDelay: 10 * time.Second, Interval: time.Hour, MaxRefusedTime: 3 * time.Minute, MaxJobTypes: 100}
	for _, tc := range []struct {
		name   string
		legacy bool
		change func(*DiscoveryConfig)
		steps  []jobTypeStep
	}{
		{
			name: "announced, then probing after item_delay, confirmed once Zabbix processes its values",
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
				{after: 9 * time.Second, want: phaseAnnounced},
				{after: time.Second, want: phaseProbing},
				{do: "accepted", want: phaseConfirmed},
				{after: 24 * time.Hour, do: "see", want: phaseConfirmed},
			},
		},
		{
			name:   "without item_delay its values follow the announcement",
			change: func(c *DiscoveryConfig) { c.ItemDelay = 0 },
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseProbing},
			},
		},
		{
			name: "refused while probing: sent again until max_refused_time, then rejected",
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
				{after: 10 * time.Second, do: "refused", want: phaseProbing},
				{after: 2*time.Minute + 59*time.Second, do: "refused", want: phaseProbing},
				{after: time.Second, do: "refused", want: phaseRejected},
			},
		},
		{
			name: "processed after refusals: confirmed, and the refusals are forgotten",
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
				{after: 10 * time.Second, do: "refused", want: phaseProbing},
				{after: 2 * time.Minute, do: "accepted", want: phaseConfirmed},
				{after: 2 * time.Minute, do: "refused", want: phaseProbing},
				{after: 2 * time.Minute, do: "refused", want: phaseProbing},
			},
		},
		{
			name: "rejected: values sent once each until the interval, then announced again",
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
				{after: 10 * time.Second, do: "refused", want: phaseProbing},
				{after: 3 * time.Minute, do: "refused", want: phaseRejected},
				{after: 59 * time.Minute, do: "refused", want: phaseRejected},
				{after: time.Minute, do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
			},
		},
		{
			name: "rejected, then processed: confirmed",
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
				{after: 10 * time.Second, do: "refused", want: phaseProbing},
				{after: 3 * time.Minute, do: "refused", want: phaseRejected},
				{after: time.Minute, do: "accepted", want: phaseConfirmed},
			},
		},
		{
			name: "announcement refused (no such host): stays new, and counts towards max_refused_time",
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announce-refused", want: phaseNew},
				{after: 2 * time.Minute, do: "announce-refused", want: phaseNew},
				{after: time.Minute, do: "announce-refused", want: phaseRejected},
			},
		},
		{
			name:   "max_refused_time 0: the first refusal rejects",
			change: func(c *DiscoveryConfig) { c.MaxRefusedTime = 0 },
			steps: []jobTypeStep{
				{do: "see", want: phaseNew},
				{do: "announced", want: phaseAnnounced},
				{after: 10 * time.Second, do: "refused", want: phaseRejected},
			},
		},
		{
			name:   "legacy keys have nothing to announce: probing at once, and again after a rejection",
			legacy: true,
			steps: []jobTypeStep{
				{do: "see", want: phaseProbing},
				{do: "refused", want: phaseProbing},
				{after: 3 * time.Minute, do: "refused", want: phaseRejected},
				{after: time.Hour, do: "see", want: phaseProbing},
				{do: "accepted", want: phaseConfirmed},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := discovery
			if tc.change != nil {
				tc.change(&cfg)
			}
			j := newJobTypes(cfg)
			r := jobType{host: "fab1-litho", site: "fab1", app: "litho", job: "lot-1", entityType: "job"}
			if tc.legacy {
				r = jobType{host: "fab1-litho", legacy: true}
			}
			now := t0
			for i, s := range tc.steps {
				now = now.Add(s.after)
				switch s.do {
				case "see":
					j.plan(map[jobType]struct{}{r: {}}, now)
				case "announced", "announce-refused":
					_, rows := j.announcement(r.host)
					j.announced(r.host, rows, s.do == "announced", now)
				case "accepted":
					j.accepted(r, now)
				case "refused":
					j.refused(r, now, true)
				case "":
				default:
					t.Fatalf("unknown action %q", s.do)
				}
				st, ok := j.state(r, now)
				require.True(t, ok)
				assert.Equal(t, s.want, st.phase, "step %d (%s after %s)", i, s.do, s.after)
			}
		})
	}
}

func TestJobTypesAnnounce(t *testing.T) {
	j := newJobTypes(DiscoveryConfig{ItemDelay: 10 * time.Second, Interval: time.Hour, MaxRefusedTime: 0, MaxJobTypes: 100})
	a := jobType{host: "h1", app: "litho", job: "lot-1", entityType: "job"}
	b := jobType{host: "h1", app: "litho", job: "lot-2", entityType: "job"}
	other := jobType{host: "h2", app: "etch", job: "lot-3", entityType: "job"}
	legacy := jobType{host: "h3", legacy: true}
	seen := func(rows ...jobType) map[jobType]struct{} {
		m := map[jobType]struct{}{}
		for _, r := range rows {
			m[r] = struct{}{}
		}
		return m
	}

	announce, _ := j.plan(seen(a, other, legacy), t0)
	assert.Equal(t, []string{"h1", "h2"}, announce, "hosts of new job types; legacy keys are not discovered")
	for _, h := range announce {
		_, rows := j.announcement(h)
		j.announced(h, rows, true, t0)
	}
	announce, _ = j.plan(seen(a, other), t0.Add(time.Minute))
	assert.Empty(t, announce, "announced already")

	announce, _ = j.plan(seen(a, b), t0.Add(2*time.Minute))
	assert.Equal(t, []string{"h1"}, announce, "a new job type of h1")
	lld, rows := j.announcement("h1")
	assert.Len(t, rows, 2, "every job type of the host, so that Zabbix keeps all their items")
	assert.JSONEq(t, `[{"{#SITE}":"","{#APP}":"litho","{#JOB}":"lot-1","{#TYPE}":"job"},{"{#SITE}":"","{#APP}":"litho","{#JOB}":"lot-2","{#TYPE}":"job"}]`, lld)
	j.announced("h1", rows, true, t0.Add(2*time.Minute))

	announce, _ = j.plan(seen(a, other), t0.Add(time.Hour))
	assert.Equal(t, []string{"h2"}, announce, "h2's interval has passed, h1's has not")

	// A job type that Zabbix rejects is not announced until the interval passes.
	j.refused(b, t0.Add(time.Hour), true)
	st, _ := j.state(b, t0.Add(time.Hour))
	require.Equal(t, phaseRejected, st.phase)
	require.Error(t, j.rejection(t0.Add(time.Hour)))
	announce, _ = j.plan(seen(b), t0.Add(3*time.Hour))
	assert.Equal(t, []string{"h1"}, announce, "rejected long enough: new again")
	assert.NoError(t, j.rejection(t0.Add(3*time.Hour)))
}

func TestJobTypesEvictLeastRecentlySeen(t *testing.T) {
	j := newJobTypes(DiscoveryConfig{ItemDelay: 0, Interval: time.Hour, MaxJobTypes: 2})
	r := func(job string) jobType { return jobType{host: "h", app: "a", job: job, entityType: "job"} }
	j.plan(map[jobType]struct{}{r("1"): {}}, t0)
	j.plan(map[jobType]struct{}{r("2"): {}}, t0.Add(time.Second))
	j.plan(map[jobType]struct{}{r("1"): {}}, t0.Add(2*time.Second))
	_, evicted := j.plan(map[jobType]struct{}{r("3"): {}}, t0.Add(3*time.Second))
	assert.Equal(t, []jobType{r("2")}, evicted)
	_, ok := j.state(r("2"), t0.Add(3*time.Second))
	assert.False(t, ok)
	// Never one of the batch's own job types.
	_, evicted = j.plan(map[jobType]struct{}{r("4"): {}, r("5"): {}, r("6"): {}}, t0.Add(4*time.Second))
	assert.Len(t, evicted, 2)
	for _, k := range []string{"4", "5", "6"} {
		_, ok := j.state(r(k), t0.Add(4*time.Second))
		assert.True(t, ok, k)
	}
}
