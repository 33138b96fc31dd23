// Command lotrun processes a simulated lot of wafers as a job with one
// subjob per wafer, and reports it to a wafermonitor collector.
//
// With the collector of `make run` on the same machine:
//
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 go run ./examples/lotrun
//
// or, to speak only the v1 API of the old sidecar:
//
//	SIDECAR_URL=http://localhost:17000 go run ./examples/lotrun
//
// With -interactive it waits for Enter before each wafer, so that the running
// job can be watched in the backends.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/wafermonitor/wafermonitor/sdk/jobs"
)

func main() {
	lot := flag.String("lot", "lot-4711", "business key of the job")
	wafers := flag.Int("wafers", 5, "number of wafers (subjobs)")
	failing := flag.Int("fail", 3, "number of the wafer that fails (0: none)")
	work := flag.Duration("work", 50*time.Millisecond, "CPU time each wafer burns")
	site := flag.String("site", "", "site ID (default $SITE_ID)")
	interactive := flag.Bool("interactive", false, "wait for Enter (or the end of standard input) before each wafer")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	opts := []jobs.Option{jobs.WithService("lotrun", "0.1.0")}
	if *site != "" {
		opts = append(opts, jobs.WithSite(*site))
	}
	shutdown, err := jobs.Setup(ctx, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Printf("flushing telemetry: %v", err)
		}
	}()

	stdin := bufio.NewReader(os.Stdin)
	err = jobs.RunJob(ctx, *lot, func(ctx context.Context, job *jobs.Job) error {
		fmt.Printf("job %s started (%s)\n", job.ID(), *lot)
		failed := 0
		for i := 1; i <= *wafers; i++ {
			if *interactive {
				if _, err := stdin.ReadString('\n'); err != nil && !errors.Is(err, io.EOF) {
					return err
				}
			}
			wafer := fmt.Sprintf("wafer-%02d", i)
			err := jobs.RunSubjob(ctx, wafer, func(ctx context.Context, sub *jobs.Job) error {
				return processWafer(ctx, sub, i == *failing, *work)
			})
			if errors.Is(err, context.Canceled) {
				return err
			}
			if err != nil {
				failed++
				fmt.Printf("  %s failed: %v\n", wafer, err)
			} else {
				fmt.Printf("  %s done\n", wafer)
			}
			job.Progress(i, *wafers, wafer)
		}
		job.RecordMetric("wafers_failed", float64(failed))
		if failed > 0 {
			return fmt.Errorf("%d of %d wafers failed", failed, *wafers)
		}
		return nil
	}, jobs.WithExpectedSubjobs(*wafers), jobs.WithAttributes(attribute.String("recipe", "demo")))
	if err != nil {
		fmt.Printf("job failed: %v\n", err)
		return
	}
	fmt.Println("job succeeded")
}

// processWafer stands in for real work: it burns CPU in steps and reports
// progress after each.
func processWafer(ctx context.Context, sub *jobs.Job, fail bool, work time.Duration) error {
	const steps = 4
	sum := sha256.Sum256([]byte(sub.ID()))
	for step := 1; step <= steps; step++ {
		deadline := time.Now().Add(work / steps)
		for time.Now().Before(deadline) {
			sum = sha256.Sum256(sum[:])
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if fail && step == 2 {
			return errors.New("chuck vacuum lost")
		}
		sub.Progress(step, steps, "exposing")
	}
	sub.RecordMetric("defects", float64(sum[0]%4))
	return nil
}
