package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// renderSVG draws grouped bar charts: events/s and CPU per event of the
// default pipeline, CPU per event of the plain one. The SVG is
// written by hand: a plotting library would add a dozen modules (fonts, PDF
// and GUI backends) to the repository's shared go.mod and to the
// distribution's module graph, for three bar charts.
func renderSVG(r *results) string {
	type panel struct {
		title string
		value func(a *agg) float64
		pipe  string
	}
	panels := []panel{
		{"events/s, default (higher is better)", (*agg).eventsPerSec, pipeDefault},
		{"collector CPU-s per 10^6 events, default (lower is better)", (*agg).cpuPerMillion, pipeDefault},
		{"collector CPU-s per 10^6 events, plain", (*agg).cpuPerMillion, pipePlain},
	}
	colors := map[string]string{"v1": "#1f77b4", "otlp-json": "#ff7f0e", "otlp-proto": "#2ca02c", protoOTLPSpans: "#d62728"}
	short := []string{"1 client", "16 clients", "64 clients", "batch 100"}
	const (
		pw, ph            = 400, 360
		left, top, bottom = 55, 40, 60
		width             = pw * 3
		height            = ph + 40
	)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for pi, p := range panels {
		x0 := pi * pw
		maxV := 0.0
		for _, m := range closedModes {
			for _, pr := range protocols {
				maxV = math.Max(maxV, p.value(r.cell(p.pipe, pr.name, m.name)))
			}
		}
		if maxV == 0 {
			maxV = 1
		}
		maxV = niceCeil(maxV)
		plotH := float64(ph - top - bottom)
		plotW := float64(pw - left - 15)
		fmt.Fprintf(&b, `<text x="%d" y="20" font-size="12" font-weight="bold">%s</text>`+"\n", x0+10, html.EscapeString(p.title))
		for t := 0; t <= 4; t++ {
			v := maxV * float64(t) / 4
			y := float64(top) + plotH - plotH*float64(t)/4
			fmt.Fprintf(&b, `<line x1="%d" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0+left, float64(x0+left)+plotW, y, y)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0+left-4, y+4, compact(v))
		}
		groupW := plotW / float64(len(closedModes))
		barW := groupW * 0.8 / float64(len(protocols))
		for mi, m := range closedModes {
			gx := float64(x0+left) + groupW*float64(mi) + groupW*0.1
			for k, pr := range protocols {
				v := p.value(r.cell(p.pipe, pr.name, m.name))
				h := plotH * v / maxV
				fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
					gx+barW*float64(k), float64(top)+plotH-h, barW-1, h, colors[pr.name], pr.name, html.EscapeString(m.name), compact(v))
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", gx+groupW*0.4, float64(top)+plotH+15, short[mi])
		}
	}
	for k, pr := range protocols {
		x := 20 + k*130
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", x, height-30, colors[pr.name], x+16, height-20, pr.name)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">this machine only: %s, %d CPUs, load %s; %s</text>`+"\n",
		20+len(protocols)*130, height-20, html.EscapeString(r.machine.cpuModel), r.machine.nproc, r.machine.loadStart, r.started.Format("2006-01-02 15:04 UTC"))
	b.WriteString("</svg>\n")
	return b.String()
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func compact(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}
