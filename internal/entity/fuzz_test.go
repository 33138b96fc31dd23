package entity

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseNumber: a number read from text is finite and is what
// strconv reads of the trimmed text; ParseInt agrees with it.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"1.5", " 2 ", "1e3", "NaN", "Inf", "-infinity", "1e999", "0x1p3", "1_000", "abc", "", "12.0", "9007199254740993", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseNumber(s)
		if ok {
			if math.IsNaN(n) || math.IsInf(n, 0) {
				t.Fatalf("ParseNumber(%q) = %v", s, n)
			}
			want, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || want != n {
				t.Fatalf("ParseNumber(%q) = %v, strconv %v, %v", s, n, want, err)
			}
		}
		if i, ok := ParseInt(s); ok {
			if n, isNumber := ParseNumber(s); !isNumber || math.Abs(float64(i)-n) > math.Abs(n)*1e-15 {
				t.Fatalf("ParseInt(%q) = %d, ParseNumber %v, %v", s, i, n, isNumber)
			}
		}
	})
}
