// Package entity is the one reading and writing of wafermonitor's entity
// model over pdata: the resource of a site and application (Resource), an
// entity's identity (Ref), and every sdk/semconv attribute of a job's or
// subjob's span and of its lifecycle events (View), with one set of rules:
//
//   - text: a string as it is; an int, a double or a bool as written;
//   - numbers: doubles, ints and numeric strings ("1.5"); NaN, infinities
//     and anything else are no number (ParseNumber, Number);
//   - integers: ints, and doubles or numeric strings holding a whole number
//     (Int);
//   - booleans: bools, and the strings "true" and "false" in any case;
//   - an entity's outcome: cicd.pipeline.result when set, else the one its
//     status implies (Outcome), else its span status (SpanOutcome).
//
// The receiver writes through it, the jobhierarchy processor and the
// exporters read through it, so that the same attribute values give the
// same reading in every component. The names come from sdk/semconv;
// docs/semantic-conventions.md describes them and docs/architecture.md says
// where a new field, roll-up or output column goes.
package entity // import "github.com/wafermonitor/wafermonitor/internal/entity"
