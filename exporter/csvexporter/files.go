package csvexporter // import "github.com/wafermonitor/wafermonitor/exporter/csvexporter"

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const gzipSuffix = ".gz"

// pathTemplate is a file path whose file name may hold %Y, %m, %d and %H.
type pathTemplate struct {
	dir string
	// stem is the file name template without its extension; ext has no tokens.
	stem, ext string
	// all matches the name of every file of the template, any period, any
	// sequence number, compressed or not, out of range or not; its groups
	// are the digits of tokens, in order, then the sequence number's.
	all    *regexp.Regexp
	tokens []byte
	// unit is the period of a file: the finest token.
	unit periodUnit
}

// checkTemplate reports why a path cannot be used as a template.
func checkTemplate(path string) error {
	if !utf8.ValidString(path) {
		// The pattern that finds the template's files again could not be compiled.
		return fmt.Errorf("%q is not valid UTF-8", path)
	}
	dir, name := filepath.Split(path)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%q does not name a file", path)
	}
	if strings.Contains(dir, "%") {
		return fmt.Errorf("%q: time tokens are only allowed in the file name, not in the directory", path)
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			continue
		}
		if i+1 == len(name) || !strings.ContainsRune("YmdH%", rune(name[i+1])) {
			return fmt.Errorf("%q: unknown time token at offset %d; use %%Y, %%m, %%d, %%H or %%%%", path, len(dir)+i)
		}
		i++
	}
	return nil
}

// parseTemplate splits a template that checkTemplate accepted.
func parseTemplate(path string) pathTemplate {
	dir, name := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	ext := filepath.Ext(name)
	if strings.Contains(ext, "%") || ext == name {
		ext = ""
	}
	t := pathTemplate{dir: filepath.Clean(dir), stem: strings.TrimSuffix(name, ext), ext: ext}
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(t.stem); i++ {
		if t.stem[i] != '%' {
			re.WriteString(regexp.QuoteMeta(t.stem[i : i+1]))
			continue
		}
		i++
		switch tok := t.stem[i]; tok {
		case 'Y':
			re.WriteString(`(\d{4})`)
		case 'm', 'd', 'H':
			re.WriteString(`(\d{2})`)
		case '%':
			re.WriteString("%")
		}
		if tok := t.stem[i]; tok != '%' {
			t.tokens = append(t.tokens, tok)
			t.unit = max(t.unit, unitOf(tok))
		}
	}
	re.WriteString(`(?:` + outOfRangeSuffix + `)?(?:-(\d+))?` + regexp.QuoteMeta(t.ext) + `(?:\.gz)?$`)
	t.all = regexp.MustCompile(re.String())
	return t
}

// resolve fills the stem with the period of at.
func (t *pathTemplate) resolve(at time.Time) string {
	if !strings.Contains(t.stem, "%") {
		return t.stem
	}
	var space [64]byte
	b := space[:0]
	for i := 0; i < len(t.stem); i++ {
		c := t.stem[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		i++
		switch t.stem[i] {
		case 'Y':
			b = appendPadded(b, at.Year(), 4)
		case 'm':
			b = appendPadded(b, int(at.Month()), 2)
		case 'd':
			b = appendPadded(b, at.Day(), 2)
		case 'H':
			b = appendPadded(b, at.Hour(), 2)
		case '%':
			b = append(b, '%')
		}
	}
	return string(b)
}

// appendPadded writes n in decimal with at least width digits, as %0*d does.
func appendPadded(b []byte, n, width int) []byte {
	if n < 0 {
		return fmt.Appendf(b, "%0*d", width, n)
	}
	var space [20]byte
	digits := strconv.AppendInt(space[:0], int64(n), 10)
	for i := len(digits); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, digits...)
}

// path of the seq-th file of a period: name.csv, name-1.csv, name-2.csv...
func (t *pathTemplate) path(stem string, seq int) string {
	name := stem
	if seq > 0 {
		name += "-" + strconv.Itoa(seq)
	}
	return filepath.Join(t.dir, name+t.ext)
}

// lastFile finds the highest sequence number among a period's files.
// found is false when the period has no file yet.
func (t *pathTemplate) lastFile(stem string) (seq int, compressed, found bool, err error) {
	entries, err := os.ReadDir(t.dir)
	if err != nil {
		return 0, false, false, err
	}
	for _, e := range entries {
		name := e.Name()
		gz := strings.HasSuffix(name, gzipSuffix)
		name = strings.TrimSuffix(name, gzipSuffix)
		if !strings.HasPrefix(name, stem) || !strings.HasSuffix(name, t.ext) || len(name) < len(stem)+len(t.ext) {
			continue
		}
		middle := name[len(stem) : len(name)-len(t.ext)]
		n := 0
		if middle != "" {
			digits, ok := strings.CutPrefix(middle, "-")
			if !ok {
				continue
			}
			if n, err = strconv.Atoi(digits); err != nil || n <= 0 {
				continue
			}
		}
		if !found || n > seq || (n == seq && !gz) {
			seq, compressed, found = n, gz, true
		}
	}
	return seq, compressed, found, nil
}

// closedFile is a file of the template that is not being written.
type closedFile struct {
	path    string
	modTime time.Time
	// series is the name without its sequence number and .gz, seq that number (0
	// for the first file of a period): name-2.csv follows name-1.csv,
	// which follows name.csv.
	series string
	seq    int
	// periodEnd is the end of the period in its name; zero when the
	// template's tokens do not name one.
	periodEnd time.Time
}

// listFiles returns every file of the template except those in skip; the
// periods in the names are read in loc.
func (t *pathTemplate) listFiles(skip map[string]bool, loc *time.Location) ([]closedFile, error) {
	entries, err := os.ReadDir(t.dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var files []closedFile
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		m := t.all.FindStringSubmatchIndex(name)
		if m == nil {
			continue
		}
		p := filepath.Join(t.dir, e.Name())
		if skip[p] {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		f := closedFile{path: p, modTime: info.ModTime(), series: name}
		groups := make([]string, 0, len(m)/2-1)
		for i := 2; i < len(m); i += 2 {
			if m[i] < 0 {
				groups = append(groups, "")
				continue
			}
			groups = append(groups, name[m[i]:m[i+1]])
		}
		if end, ok := periodEndOf(t.tokens, groups, loc); ok {
			f.periodEnd = end
		}
		if lo, hi := m[len(m)-2], m[len(m)-1]; lo >= 0 {
			f.seq, _ = strconv.Atoi(name[lo:hi])
			f.series = name[:lo-1] + name[hi:] // without "-N"
		}
		f.series = strings.TrimSuffix(f.series, gzipSuffix)
		files = append(files, f)
	}
	return files, nil
}

// completeLength returns the length of the file's prefix that ends with a
// complete row. In CSV a line break inside quotes belongs to a field, so the
// whole file is scanned once, tracking quotes; JSON Lines rows cannot hold a
// raw line break, so the last one ends the last row.
func completeLength(f *os.File, size int64, csvQuotes bool) (int64, error) {
	if !csvQuotes {
		const chunk = 64 << 10
		buf := make([]byte, chunk)
		for end := size; end > 0; {
			start := max(end-chunk, 0)
			n, err := f.ReadAt(buf[:end-start], start)
			if err != nil && !errors.Is(err, io.EOF) {
				return 0, err
			}
			for i := n - 1; i >= 0; i-- {
				if buf[i] == '\n' {
					return start + int64(i) + 1, nil
				}
			}
			end = start
		}
		return 0, nil
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10)
	var (
		pos, complete int64
		inQuotes      bool
	)
	for {
		b, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return complete, nil
			}
			return 0, err
		}
		pos++
		switch b {
		case '"':
			inQuotes = !inQuotes
		case '\n':
			if !inQuotes {
				complete = pos
			}
		}
	}
}

// repairTail cuts a partially written last row off the file and keeps the
// cut bytes in path.torn next to it, so a reader never sees half a row and
// nothing is silently thrown away. It returns the number of bytes moved.
func repairTail(f *os.File, path string, size int64, csvQuotes bool, perm os.FileMode) (int64, error) {
	complete, err := completeLength(f, size, csvQuotes)
	if err != nil || complete == size {
		return 0, err
	}
	torn := make([]byte, size-complete)
	if _, err := f.ReadAt(torn, complete); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	aside, err := os.OpenFile(path+".torn", os.O_WRONLY|os.O_CREATE|os.O_APPEND, perm) //nolint:gosec // paths come from the configured template
	if err != nil {
		return 0, err
	}
	_, werr := aside.Write(append(torn, '\n'))
	if err := errors.Join(werr, aside.Sync(), aside.Close()); err != nil {
		return 0, err
	}
	if err := f.Truncate(complete); err != nil {
		return 0, err
	}
	return size - complete, nil
}

// hasHeader reports whether the file starts with exactly header.
func hasHeader(f *os.File, size int64, header []byte) (bool, error) {
	if int64(len(header)) > size {
		return false, nil
	}
	got := make([]byte, len(header))
	if _, err := f.ReadAt(got, 0); err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return string(got) == string(header), nil
}
