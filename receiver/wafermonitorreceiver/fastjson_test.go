package wafermonitorreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdParse is what parseJSON did before the fast path: encoding/json with
// UseNumber, one value and nothing after it.
func stdParse(body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false
	}
	return v, true
}

func TestFastParseMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, ` {"a" : [1, -2.5e+3, 0, 0.25, 1E2, true, false, null, "x"]} `, `{"a":1,"a":2}`,
		`{"s":"tab\there \"quoted\" back\\slash \/ \b\f\n\r"}`, `{"u":"caf\u00e9"}`, `"π ≈ 3.14159"`,
		`{"bad":"\x"}`, `01`, `-`, `1.`, `.5`, `+1`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`,
		`{"a":1} {"b":2}`, `{"a":1}x`, "\"ctrl\x01\"", "\"\xff\xfe\"", "\xef\xbb\xbf{}", ``, `   `, `nul`, `tru`, `[`, `{"a":`,
		strings.Repeat("[", 70) + "1" + strings.Repeat("]", 70), strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70),
		`123456789012345678901234567890`, `-0`, `-0.0e-0`, `{"":""}`,
	}
	forEachSample(t, func(b []byte) { cases = append(cases, string(b)) })
	for _, c := range cases {
		assertSameParse(t, []byte(c))
	}
}

// forEachSample calls fn with each client sample body in testdata/v1.
func forEachSample(tb testing.TB, fn func([]byte)) {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "v1", "*.json"))
	require.NoError(tb, err)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(tb, err)
		fn(b)
	}
}

// assertSameParse checks that whenever the fast path answers, encoding/json
// answers the same; the bodies the fast path declines go to encoding/json.
func assertSameParse(t *testing.T, body []byte) {
	t.Helper()
	fast, ok := fastParse(body)
	std, stdOK := stdParse(body)
	if ok {
		require.Truef(t, stdOK, "fast path accepted %q, encoding/json rejects it", body)
		assert.Equalf(t, std, fast, "body %q", body)
	}
	got, prob := parseJSON(body)
	if stdOK {
		require.Nilf(t, prob, "body %q", body)
		assert.Equalf(t, std, got, "body %q", body)
	} else {
		require.NotNilf(t, prob, "body %q", body)
	}
}

// FuzzFastParse: the fast path never accepts what encoding/json rejects and
// never decodes differently. Seeds: the client samples and testdata/fuzz/FuzzFastParse.
func FuzzFastParse(f *testing.F) {
	forEachSample(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		assertSameParse(t, body)
	})
}

// BenchmarkParseJSON compares the fast path with encoding/json on a
// single-event body and a batch of 100.
func BenchmarkParseJSON(b *testing.B) {
	single, batch := benchBodies(b)
	for _, bc := range []struct {
		name string
		body []byte
	}{{"single", single}, {"batch100", batch}} {
		for _, parser := range []struct {
			name  string
			parse func([]byte) (any, bool)
		}{{"fast", fastParse}, {"encoding_json", stdParse}} {
			b.Run(bc.name+"/"+parser.name, func(b *testing.B) {
				b.SetBytes(int64(len(bc.body)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, ok := parser.parse(bc.body); !ok {
						b.Fatal("declined or rejected")
					}
				}
			})
		}
	}
}
