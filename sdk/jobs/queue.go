package jobs

import "sync"

// eventQueue hands lifecycle events from the goroutines that report them to
// a goroutine that writes them to the providers, so that a job pays for
// little more than a bare span: building a log record and passing it through
// the log SDK costs about as much as a whole span, and a job has two; giving
// the span its attributes and ending it costs twice a bare span.
//
// Events are written in the order they were queued, right away: the writer
// goroutine starts when the first event arrives and exits when the queue is
// empty, so an idle Monitor runs no goroutine. The queue is bounded; when it
// is full, the reporting goroutine writes the queued events and its own
// itself, in order, and nothing is dropped.
type eventQueue struct {
	m    *Monitor
	size int // 0: every event is written by the goroutine that reports it

	// writing is held while events are taken from the queue and written,
	// which keeps them in order whoever writes them.
	writing sync.Mutex

	mu      sync.Mutex
	idle    *sync.Cond // the writer goroutine exited
	pending []event
	spare   []event // the other buffer, reused
	running bool
	closed  bool
}

func newEventQueue(m *Monitor, size int) *eventQueue {
	q := &eventQueue{m: m, size: size}
	q.idle = sync.NewCond(&q.mu)
	return q
}

func (q *eventQueue) add(ev *event) {
	if q.size == 0 {
		q.m.write(ev)
		return
	}
	q.mu.Lock()
	if q.closed || len(q.pending) >= q.size {
		q.mu.Unlock()
		q.writing.Lock()
		q.writeQueued()
		q.m.write(ev)
		q.writing.Unlock()
		return
	}
	q.pending = append(q.pending, *ev)
	if !q.running {
		q.running = true
		go q.run()
	}
	q.mu.Unlock()
}

// run is the writer goroutine.
func (q *eventQueue) run() {
	for {
		q.writing.Lock()
		n := q.writeQueued()
		q.writing.Unlock()
		if n > 0 {
			continue
		}
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.idle.Broadcast()
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
	}
}

// writeQueued writes the events queued so far and returns how many there
// were. The caller holds q.writing.
func (q *eventQueue) writeQueued() int {
	q.mu.Lock()
	batch := q.pending
	q.pending = q.spare[:0]
	q.spare = nil
	q.mu.Unlock()
	for i := range batch {
		q.m.write(&batch[i])
		batch[i] = event{} // let go of the job and its slices
	}
	q.mu.Lock()
	if q.spare == nil {
		q.spare = batch[:0]
	}
	q.mu.Unlock()
	return len(batch)
}

// flush writes every event queued before it was called.
func (q *eventQueue) flush() {
	q.writing.Lock()
	q.writeQueued()
	q.writing.Unlock()
}

// close writes what is queued and waits for the writer goroutine to exit;
// events reported afterwards are written by the goroutine that reports them.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.flush()
	q.mu.Lock()
	for q.running {
		q.idle.Wait()
	}
	q.mu.Unlock()
}
