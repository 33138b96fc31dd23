package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import "sync"

// runningSet remembers the entities of each job type that started and have
// not ended. Adding and removing are idempotent, so converting a batch
// again (a retry) changes nothing.
type runningSet struct {
	max int
	// capped is called for each entity not remembered because of the cap.
	capped func()

	mu    sync.Mutex
	rows  map[jobType]map[string]struct{}
	count int
}

func newRunningSet(maxEntities int) *runningSet {
	return &runningSet{max: maxEntities, rows: map[jobType]map[string]struct{}{}}
}

// add records id as running and returns the row's running count. Beyond
// the cap, new entities are not remembered.
func (s *runningSet) add(r jobType, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.rows[r]
	if ids == nil {
		ids = map[string]struct{}{}
		s.rows[r] = ids
	}
	if _, ok := ids[id]; !ok && id != "" {
		if s.count < s.max {
			ids[id] = struct{}{}
			s.count++
		} else if s.capped != nil {
			s.capped()
		}
	}
	return len(ids)
}

// remove records id as ended and returns the row's running count.
func (s *runningSet) remove(r jobType, id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.rows[r]
	if _, ok := ids[id]; ok {
		delete(ids, id)
		s.count--
	}
	n := len(ids)
	if n == 0 {
		delete(s.rows, r)
	}
	return n
}
