package wafermonitorreceiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdParse is the reference: encoding/json with UseNumber, one value and
// nothing after it.
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

func TestParserMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `[]`, ` {"a" : [1, -2.5e+3, 0, 0.25, 1E2, true, false, null, "x"]} `, `{"a":1,"a":2}`,
		`{"s":"tab\there \"quoted\" back\\slash \/ \b\f\n\r"}`, `{"u":"caf\u00e9"}`, `"π ≈ 3.14159"`,
		`{"bad":"\x"}`, `01`, `-`, `1.`, `.5`, `+1`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`,
		`{"a":1} {"b":2}`, `{"a":1}x`, "\"ctrl\x01\"", "\"\xff\xfe\"", "\xef\xbb\xbf{}", ``, `   `, `nul`, `tru`, `[`, `{"a":`,
		strings.Repeat("[", 70) + "1" + strings.Repeat("]", 70), strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70),
		`123456789012345678901234567890`, `-0`, `-0.0e-0`, `{"":""}`,
		`{"u":"\u00e9\u6771\ud83d\ude00"}`, `"\ud800"`, `"\udc00\ud800x"`, `"\ud800\u0041"`, `"\ud83d\ude0"`, `"\u12"`, `"\uZZZZ"`,
		"\"bad \xc3\x28 utf8\"", "{\"k\xff\":1}", "\"\xed\xa0\x80\"", `"\'"`, `{"\u0065vents":[1]}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
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

// assertSameParse checks that the parser accepts exactly what encoding/json
// accepts, and decodes it to the same value.
func assertSameParse(t *testing.T, body []byte) {
	t.Helper()
	fast, ok, tooMany := fastParse(body, math.MaxInt)
	require.False(t, tooMany)
	std, stdOK := stdParse(body)
	require.Equalf(t, stdOK, ok, "body %q: encoding/json accepts it: %v, the parser: %v", body, stdOK, ok)
	if ok {
		assert.Equalf(t, std, fast, "body %q", body)
	}
	got, prob := parseJSON(body, math.MaxInt)
	if stdOK {
		require.Nilf(t, prob, "body %q", body)
		assert.Equalf(t, std, got, "body %q", body)
	} else {
		require.NotNilf(t, prob, "body %q", body)
	}
}

// FuzzFastParse: the parser accepts exactly what encoding/json accepts and
// decodes it the same. Seeds: the client samples and testdata/fuzz/FuzzFastParse.
func FuzzFastParse(f *testing.F) {
	forEachSample(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, body []byte) {
		assertSameParse(t, body)
	})
}

// BenchmarkParseJSON compares the parser with encoding/json on a
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
		}{{"fast", func(b []byte) (any, bool) { v, ok, _ := fastParse(b, math.MaxInt); return v, ok }}, {"encoding_json", stdParse}} {
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
