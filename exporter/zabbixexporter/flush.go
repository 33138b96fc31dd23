package zabbixexporter // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter"

import (
	"context"
	"sort"
	"time"

	"go.uber.org/zap"
)

// flush sends the gathered values of r, with extra values of this attempt
// that found no room among them, oldest first and in requests of r's values
// alone, but for those that wait for r's triggers (splitTriggerValues).
// Processed values are settled (and recorded in a.settled); refused ones are
// kept to be sent again, or given up once r has been refused for
// max_refused_time.
func (e *zabbixExporter) flush(ctx context.Context, a *attempt, r jobType, extra []heldValue) error {
	held, ok := e.gather.take(r)
	if !ok {
		return nil // another attempt is sending them
	}
	vals := append(held, extra...)
	sort.SliceStable(vals, func(i, k int) bool { return vals[i].at.Before(vals[k].at) })
	send, later := e.splitTriggerValues(r, vals, a.now)
	var sent gatheredSend
	err := e.sendGathered(ctx, r, send, a.now, &sent)
	if err == nil && len(later) > 0 {
		if ready, _ := e.jobs.triggerValues(r, a.now); ready {
			// Zabbix took the other values just now, and trigger_delay is
			// 0; or it rejects r now, and they are sent once as well.
			err = e.sendGathered(ctx, r, later, a.now, &sent)
			later = nil
		}
	}
	e.report(ctx, r, sent)
	for _, v := range sent.processed {
		a.settled[v.fp] = true
	}
	for _, v := range sent.givenUp {
		a.settled[v.fp] = false
	}
	if n := e.gather.finish(r, sent.processed, sent.givenUp, append(sent.again, later...), a.now); n > 0 {
		e.telemetry.ExporterZabbixSettledEvicted.Add(ctx, int64(n))
	}
	if len(later) > 0 {
		if _, until := e.jobs.triggerValues(r, a.now); !until.IsZero() {
			a.wait = max(a.wait, until.Sub(a.now))
		}
	}
	return err
}

// gatheredSend is what became of gathered values sent: processed, given up
// (refused for longer than max_refused_time), or to be sent again; and how
// many Zabbix counted as failed, of those given up.
type gatheredSend struct {
	processed, givenUp, again []heldValue
	failed, failedGivenUp     int
}

// sendGathered sends vals, values of r alone, records Zabbix's answer in
// r's state, and adds what became of them to out.
func (e *zabbixExporter) sendGathered(ctx context.Context, r jobType, vals []heldValue, now time.Time, out *gatheredSend) error {
	plain := make([]value, len(vals))
	for i, v := range vals {
		plain[i] = v.value
	}
	res, err := e.send(ctx, stamp(plain, now))

	inRefused := make([]bool, len(vals))
	failed := 0
	for _, ref := range res.Refused {
		failed += ref.Failed
		for i := ref.From; i < ref.To; i++ {
			inRefused[i] = true
		}
	}
	var refused []heldValue
	for i := 0; i < res.Answered; i++ {
		if inRefused[i] {
			refused = append(refused, vals[i])
		} else {
			out.processed = append(out.processed, vals[i])
		}
	}
	switch {
	case failed > 0:
		out.failed += failed
		if e.jobs.refused(r, now, true) == phaseRejected {
			out.givenUp = append(out.givenUp, refused...)
			out.failedGivenUp += failed
			refused = nil
		}
	case res.Answered == len(vals) && len(vals) > 0:
		e.jobs.accepted(r, now)
	}
	out.again = append(append(out.again, refused...), vals[res.Answered:]...)
	return err
}

// report counts and logs the values of r that Zabbix refused.
func (e *zabbixExporter) report(ctx context.Context, r jobType, sent gatheredSend) {
	switch {
	case sent.failedGivenUp > 0:
		e.telemetry.ExporterZabbixValuesRejected.Add(ctx, int64(sent.failedGivenUp))
		e.logger.Warn("Zabbix kept refusing values of a job type; they are dropped. Check that the host exists, is linked to the wafermonitor template, and accepts trapper values from this collector (Allowed hosts, TLS); if discovery is only slow, raise discovery::max_refused_time.",
			zap.String("host", r.host), zap.String("job_type", describe(r)),
			zap.Int("failed", sent.failedGivenUp), zap.Int("values", len(sent.givenUp)),
			zap.Duration("max_refused_time", e.cfg.Discovery.MaxRefusedTime))
	case sent.failed > 0:
		e.logger.Debug("Zabbix refused values of a job type whose items it may still be creating; they are sent again",
			zap.String("host", r.host), zap.String("job_type", describe(r)), zap.Int("failed", sent.failed))
	}
}

// splitTriggerValues takes out of vals the values that r's triggers read
// while those triggers may not be loaded yet (jobTypes.triggerValues): they
// stay gathered, in time order behind the ones before them, and go once the
// triggers are loaded. While Zabbix has not taken r's values yet and
// nothing else is left to send, they are sent: they tell whether the items
// exist now.
func (e *zabbixExporter) splitTriggerValues(r jobType, vals []heldValue, now time.Time) (send, later []heldValue) {
	ready, until := e.jobs.triggerValues(r, now)
	if ready {
		return vals, nil
	}
	send = make([]heldValue, 0, len(vals))
	for _, v := range vals {
		if v.trigger {
			later = append(later, v)
		} else {
			send = append(send, v)
		}
	}
	if len(later) > 0 && len(send) == 0 && until.IsZero() {
		return vals, nil
	}
	if len(later) > 0 {
		e.logger.Debug("Values that triggers read wait until Zabbix has loaded the triggers that discovery created after the items",
			zap.String("host", r.host), zap.String("job_type", describe(r)), zap.Int("values", len(later)))
	}
	return send, later
}
