package wafermonitorreceiver // import "github.com/wafermonitor/wafermonitor/receiver/wafermonitorreceiver"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wafermonitor/wafermonitor/sdk/v1event"
)

// decode parses and validates a body. A batch is all or nothing: every bad
// item is reported, and none is accepted.
func (r *wafermonitorReceiver) decode(raw []byte, now time.Time, batch bool) ([]event, int, any) {
	d := decoder{now: now}
	if events, ok := d.decodeDirect(raw, r.cfg.MaxBatchEvents); ok {
		return events, 0, nil
	}
	return r.decodeGeneric(raw, &d, batch)
}

// decodeGeneric decodes a body into generic JSON values first, then reads
// each event's fields from them: every shape a client may send, and every
// problem named.
func (r *wafermonitorReceiver) decodeGeneric(raw []byte, d *decoder, batch bool) ([]event, int, any) {
	v, perr := parseJSON(raw, r.cfg.MaxBatchEvents)
	if perr != nil {
		if perr.Type == typeTooLarge {
			r.reject(context.Background(), "too_large", r.cfg.MaxBatchEvents+1)
			return nil, http.StatusRequestEntityTooLarge, problems{Detail: []problem{*perr}}
		}
		r.reject(context.Background(), "invalid", 1)
		return nil, http.StatusUnprocessableEntity, problems{Detail: []problem{*perr}}
	}
	_, isArray := v.([]any)
	obj, isObject := v.(map[string]any)
	_, hasEvents := obj[v1event.FieldEvents]
	wrapped := isObject && hasEvents
	if !batch && !isArray && !wrapped {
		e, probs := d.decodeEvent(v, []any{"body"})
		if probs != nil {
			r.reject(context.Background(), "invalid", 1)
			return nil, http.StatusUnprocessableEntity, problems{Detail: probs}
		}
		return []event{e}, 0, nil
	}
	items, perr := batchItems(v)
	if perr != nil {
		r.reject(context.Background(), "invalid", 1)
		return nil, http.StatusUnprocessableEntity, problems{Detail: []problem{*perr}}
	}
	events := make([]event, 0, len(items))
	var all []problem
	for i, item := range items {
		e, probs := d.decodeEvent(item, []any{"body", i})
		if probs != nil {
			all = append(all, probs...)
			continue
		}
		events = append(events, e)
	}
	if len(all) > 0 {
		r.reject(context.Background(), "invalid", len(items))
		return nil, http.StatusUnprocessableEntity, problems{Detail: all}
	}
	return events, 0, nil
}

// parseJSON decodes a whole body, numbers kept exact, refusing a batch of
// more than limit events while it decodes (see jsonParser).
func parseJSON(body []byte, limit int) (any, *problem) {
	v, ok, tooMany := fastParse(body, limit)
	switch {
	case ok:
		return v, nil
	case tooMany:
		return nil, &problem{Type: typeTooLarge, Loc: []any{"body"}, Msg: fmt.Sprintf("more than %d events in one batch (max_batch_events)", limit)}
	}
	// encoding/json names the error. It reads the value into a buffer of
	// the body's size without building it, so an invalid body costs no more
	// than a valid one.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var skipped json.RawMessage
	if err := dec.Decode(&skipped); err != nil {
		return nil, &problem{Type: typeJSONInvalid, Loc: []any{"body"}, Msg: "invalid JSON: " + jsonErrorText(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &problem{Type: typeJSONInvalid, Loc: []any{"body"}, Msg: "invalid JSON: unexpected data after the top-level value"}
	}
	// encoding/json takes what the parser refused: never the case
	// (FuzzFastParse), but a body that is JSON must not be refused.
	v, err := decodeStdJSON(body)
	if err != nil {
		return nil, &problem{Type: typeJSONInvalid, Loc: []any{"body"}, Msg: "invalid JSON: " + jsonErrorText(err)}
	}
	return v, nil
}

// decodeStdJSON is encoding/json's reading of a body, numbers kept exact.
func decodeStdJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func jsonErrorText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// batchItems returns the events of a batch body: a bare array, or an object
// {"events": [...]}. A single event object is taken as a batch of one.
func batchItems(v any) ([]any, *problem) {
	switch t := v.(type) {
	case []any:
		return t, nil
	case map[string]any:
		if evs, ok := t[v1event.FieldEvents]; ok {
			if list, ok := evs.([]any); ok {
				return list, nil
			}
			return nil, &problem{Type: typeListType, Loc: []any{"body", v1event.FieldEvents}, Msg: "events must be a JSON array of events"}
		}
		return []any{t}, nil
	}
	return nil, &problem{Type: typeListType, Loc: []any{"body"}, Msg: "a batch must be a JSON array of events or an object {\"events\": [...]}"}
}
