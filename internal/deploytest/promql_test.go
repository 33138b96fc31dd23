package deploytest

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"strings"
)

// promSelector is a vector selector of a PromQL expression.
type promSelector struct {
	// name is the metric name; empty when the selector has none and picks
	// metrics by a __name__ matcher instead.
	name     string
	matchers []promMatcher
}

// promMatcher is one label matcher of a selector; value is the string
// literal as written, quotes included.
type promMatcher struct {
	label, op, value string
}

// String is the selector in PromQL.
func (s promSelector) String() string {
	parts := make([]string, len(s.matchers))
	for i, m := range s.matchers {
		parts[i] = m.label + m.op + m.value
	}
	if len(parts) == 0 {
		return s.name
	}
	return s.name + "{" + strings.Join(parts, ", ") + "}"
}

// metricNames are the metric names the selector can pick: its name, or the
// names a __name__ matcher that is an alternation of literals spells out
// (`{__name__=~"a_(x|y)_total"}` picks a_x_total and a_y_total).
func (s promSelector) metricNames() ([]string, error) {
	if s.name != "" {
		return []string{s.name}, nil
	}
	for _, m := range s.matchers {
		if m.label != "__name__" {
			continue
		}
		v, err := unquotePromString(m.value)
		if err != nil {
			return nil, err
		}
		switch m.op {
		case "=":
			return []string{v}, nil
		case "=~":
			return expandAlternation(v)
		}
		return nil, fmt.Errorf("%s: a __name__ matcher %s names no metric", s, m.op)
	}
	return nil, fmt.Errorf("%s: a selector without a metric name or a __name__ matcher", s)
}

// withName is the selector for one of its metric names: the __name__
// matcher replaced by the name.
func (s promSelector) withName(name string) promSelector {
	out := promSelector{name: name}
	for _, m := range s.matchers {
		if m.label != "__name__" {
			out.matchers = append(out.matchers, m)
		}
	}
	return out
}

// promAggregators are PromQL's aggregation operators, which may be followed
// by a by/without clause before their parenthesis.
var promAggregators = []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
	"count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}

// promKeywords are binary operators and modifiers spelt as words.
var promKeywords = []string{"and", "or", "unless", "bool", "offset", "atan2"}

// promLabelClauses are followed by a parenthesised list of label names.
var promLabelClauses = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

// scanPromQL returns the vector selectors of a PromQL expression and the
// label names of its by, without, on, ignoring, group_left and group_right
// clauses. It reads the PromQL the shipped rules are written in (selectors
// with matchers, functions, aggregations, binary operators, ranges,
// offsets, string and number literals); the full parser
// (github.com/prometheus/prometheus/promql/parser) would bring the
// Prometheus server's storage packages into this module.
func scanPromQL(expr string) (sels []promSelector, labels []string, err error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		next := func() string {
			if i+1 < len(toks) {
				return toks[i+1].text
			}
			return ""
		}
		switch {
		case tk.text == "[":
			for i < len(toks) && toks[i].text != "]" {
				i++
			}
			if i == len(toks) {
				return nil, nil, fmt.Errorf("%q: [ without ]", expr)
			}
		case tk.text == "{":
			sel, end, err := scanMatchers(toks, i)
			if err != nil {
				return nil, nil, fmt.Errorf("%q: %w", expr, err)
			}
			sels = append(sels, sel)
			i = end
		case tk.kind != tokIdent:
		case slices.Contains(promLabelClauses, tk.text):
			if next() != "(" {
				continue // group_left without labels
			}
			for i += 2; i < len(toks) && toks[i].text != ")"; i++ {
				switch {
				case toks[i].kind == tokIdent:
					labels = append(labels, toks[i].text)
				case toks[i].text != ",":
					return nil, nil, fmt.Errorf("%q: %q in the label list of %s", expr, toks[i].text, tk.text)
				}
			}
			if i == len(toks) {
				return nil, nil, fmt.Errorf("%q: %s ( without )", expr, tk.text)
			}
		case slices.Contains(promKeywords, tk.text), slices.Contains(promAggregators, tk.text), next() == "(":
		case next() == "{":
			sel, end, err := scanMatchers(toks, i+1)
			if err != nil {
				return nil, nil, fmt.Errorf("%q: %w", expr, err)
			}
			sel.name = tk.text
			sels = append(sels, sel)
			i = end
		default:
			sels = append(sels, promSelector{name: tk.text})
		}
	}
	return sels, labels, nil
}

// scanMatchers reads the matchers from the { at toks[open] to its }, and
// returns the index of the }.
func scanMatchers(toks []promToken, open int) (promSelector, int, error) {
	var sel promSelector
	i := open + 1
	for ; i < len(toks) && toks[i].text != "}"; i++ {
		if toks[i].text == "," {
			continue
		}
		if i+2 >= len(toks) || toks[i].kind != tokIdent || toks[i+1].kind != tokOp || toks[i+2].kind != tokString {
			return sel, 0, fmt.Errorf("a label matcher is not `label op \"value\"` at %q", toks[i].text)
		}
		op := toks[i+1].text
		if !slices.Contains([]string{"=", "!=", "=~", "!~"}, op) {
			return sel, 0, fmt.Errorf("%q is not a matcher operator", op)
		}
		sel.matchers = append(sel.matchers, promMatcher{label: toks[i].text, op: op, value: toks[i+2].text})
		i += 2
	}
	if i == len(toks) {
		return sel, 0, fmt.Errorf("{ without }")
	}
	return sel, i, nil
}

type promTokenKind int

const (
	tokIdent promTokenKind = iota
	tokNumber
	tokString
	tokOp
)

type promToken struct {
	kind promTokenKind
	text string
}

func lexPromQL(s string) ([]promToken, error) {
	var toks []promToken
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%q: unterminated string", s)
			}
			toks = append(toks, promToken{tokString, s[i : j+1]})
			i = j + 1
		case c >= '0' && c <= '9' || c == '.':
			j := i
			for j < len(s) && (isIdent(s[j]) || s[j] == '.') {
				j++
			}
			toks = append(toks, promToken{tokNumber, s[i:j]})
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			toks = append(toks, promToken{tokIdent, s[i:j]})
			i = j
		default:
			op := s[i : i+1]
			if i+1 < len(s) && slices.Contains([]string{"==", "!=", ">=", "<=", "=~", "!~"}, s[i:i+2]) {
				op = s[i : i+2]
			}
			if !strings.Contains("(){}[],=!<>+-*/%^@", op[:1]) || op == "!" {
				return nil, fmt.Errorf("%q: unexpected %q", s, op)
			}
			toks = append(toks, promToken{tokOp, op})
			i += len(op)
		}
	}
	return toks, nil
}

// unquotePromString is the value of a PromQL string literal.
func unquotePromString(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != lit[len(lit)-1] {
		return "", fmt.Errorf("%s is not a string literal", lit)
	}
	body := lit[1 : len(lit)-1]
	if lit[0] == '`' {
		return body, nil
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) {
			i++
		}
		b.WriteByte(body[i])
	}
	return b.String(), nil
}

// expandAlternation spells out the strings a regular expression made of
// literals, groups and alternations matches.
func expandAlternation(re string) ([]string, error) {
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return nil, err
	}
	var expand func(r *syntax.Regexp) ([]string, error)
	expand = func(r *syntax.Regexp) ([]string, error) {
		switch r.Op {
		case syntax.OpLiteral:
			return []string{string(r.Rune)}, nil
		case syntax.OpEmptyMatch:
			return []string{""}, nil
		case syntax.OpCapture:
			return expand(r.Sub[0])
		case syntax.OpAlternate:
			var out []string
			for _, sub := range r.Sub {
				s, err := expand(sub)
				if err != nil {
					return nil, err
				}
				out = append(out, s...)
			}
			return out, nil
		case syntax.OpConcat:
			out := []string{""}
			for _, sub := range r.Sub {
				s, err := expand(sub)
				if err != nil {
					return nil, err
				}
				var next []string
				for _, prefix := range out {
					for _, suffix := range s {
						next = append(next, prefix+suffix)
					}
				}
				out = next
			}
			return out, nil
		case syntax.OpCharClass:
			// A class of single characters, as the parser makes of a|b.
			var out []string
			for i := 0; i+1 < len(r.Rune); i += 2 {
				if r.Rune[i+1]-r.Rune[i] > 16 {
					return nil, fmt.Errorf("%q: a character range names too many metrics", re)
				}
				for c := r.Rune[i]; c <= r.Rune[i+1]; c++ {
					out = append(out, string(c))
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("%q: not an alternation of literals (%s)", re, r)
	}
	return expand(parsed)
}
