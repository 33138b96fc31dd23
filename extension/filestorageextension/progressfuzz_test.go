package filestorageextension

import (
	"bytes"
	"context"
	"maps"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// FuzzProgressClientMatchesModel runs programs of batches, single calls,
// timer firings and failing inner calls through the progress client over a
// map client, with a small cache and few pending keys allowed, against a
// map that applies every call that succeeded. Every Get answers what the
// map holds, and a call fails only when the inner client was made to
// fail. After Close the inner client holds the map. Until a failure, the
// inner client after each call holds what it held before, or the map
// before the call, or after it: a crash leaves a state the caller passed
// through.
//
// A program byte: low three bits the instruction; for a batch the next
// byte is its length (1 to 4) and each following byte an operation (its
// value mod 3 the type, divided by 3 the key).
func FuzzProgressClientMatchesModel(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 2, 1, 5, 0, 2, 1, 3, 0, 2, 1, 6, 2},               // offer, read, done, timer
		{0, 2, 1, 5, 0, 2, 1, 6, 0, 1, 4, 3, 8, 0, 2, 1, 5},   // failing inner, then writes
		{1, 4, 2, 5, 8, 11, 1, 4, 3, 6, 9, 12, 4, 3, 5, 6},    // deletes and reads of what is not there
		{0, 1, 4, 0, 1, 7, 0, 1, 10, 0, 1, 13, 1, 3, 3, 6, 9}, // the cache's bound
		{11, 0, 1, 4, 3, 1, 1, 2, 20, 0, 1, 5, 2, 7, 4},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, program []byte) {
		keys := []string{queueMetadataKey, "0", "1", "2", "3", "4"}
		fx := newProgressFixture()
		fx.client.maxPending = 3
		fx.client.cache = newWrittenCache(24)
		model := map[string][]byte{}
		clean := true
		values := 0
		newValue := func() []byte {
			values++
			return []byte("value " + strconv.Itoa(values))
		}
		next := func() byte {
			if len(program) == 0 {
				return 0
			}
			b := program[0]
			program = program[1:]
			return b
		}
		for len(program) > 0 {
			in := next()
			var ops []*storage.Operation
			switch in % 8 {
			case 0, 1: // a batch
				for range 1 + next()%4 {
					b := next()
					key := keys[int(b/3)%len(keys)]
					switch b % 3 {
					case 0:
						ops = append(ops, storage.GetOperation(key))
					case 1:
						ops = append(ops, storage.SetOperation(key, newValue()))
					default:
						ops = append(ops, storage.DeleteOperation(key))
					}
				}
			case 2:
				fx.timer.fire()
				if clean {
					require.Equal(t, model, fx.inner.data, "after the timer's write")
				}
				continue
			case 3:
				fx.inner.fail = int(in>>3) % 3
				clean = clean && fx.inner.fail == 0
				continue
			case 4, 5:
				ops = []*storage.Operation{storage.GetOperation(keys[int(in>>3)%len(keys)])}
			case 6:
				ops = []*storage.Operation{storage.SetOperation(keys[int(in>>3)%len(keys)], newValue())}
			default:
				ops = []*storage.Operation{storage.DeleteOperation(keys[int(in>>3)%len(keys)])}
			}
			before, innerBefore, mayFail := maps.Clone(model), maps.Clone(fx.inner.data), fx.inner.fail > 0
			err := call(fx.client, ops, in)
			if err != nil {
				require.True(t, mayFail, "failed with an inner client that did not: %v", err)
				continue
			}
			for i, op := range ops {
				switch op.Type {
				case storage.Get:
					want, ok := model[op.Key]
					require.Equal(t, ok, op.Value != nil, "Get %q, operation %d of %d", op.Key, i, len(ops))
					require.True(t, bytes.Equal(want, op.Value), "Get %q: %q, want %q", op.Key, op.Value, want)
				case storage.Set:
					model[op.Key] = op.Value
				case storage.Delete:
					delete(model, op.Key)
				}
			}
			if clean && !maps.EqualFunc(fx.inner.data, innerBefore, bytes.Equal) {
				if !maps.EqualFunc(fx.inner.data, before, bytes.Equal) {
					require.Equal(t, model, fx.inner.data, "the inner client holds neither the state before the call nor after it")
				}
			}
		}
		fx.inner.fail = 0
		require.NoError(t, fx.client.Close(context.Background()))
		require.Equal(t, model, fx.inner.data)
		require.Equal(t, 1, fx.inner.closes)
	})
}

// call runs ops as one batch, or as the single call it is when in says so.
func call(c storage.Client, ops []*storage.Operation, in byte) error {
	ctx := context.Background()
	if len(ops) > 1 || in%8 < 2 {
		return c.Batch(ctx, ops...)
	}
	op := ops[0]
	switch op.Type {
	case storage.Get:
		v, err := c.Get(ctx, op.Key)
		op.Value = v
		return err
	case storage.Set:
		return c.Set(ctx, op.Key, op.Value)
	default:
		return c.Delete(ctx, op.Key)
	}
}
