// Command calmony-bench drives a Stripe-compatible API (Calmony Pay, or
// stripe-mock for comparison) with a closed-loop or rate-paced load and
// reports throughput, latency percentiles, errors by status and, given the
// server's PID, its CPU time and memory.
//
//	calmony-bench -url http://127.0.0.1:8080 -key sk_test_… -scenario customers.create -c 64 -d 10s [-pid PID] [-json]
//	calmony-bench startup -url … -key … [-n 5] -- calmonypay serve --addr 127.0.0.1:8080 …
//	calmony-bench report [-base LABEL] results.jsonl
//
// Only point it at servers of your own on this machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "calmony-bench: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "calmony-bench: %v\n", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "startup":
			return startupCommand(ctx, args[1:], stdout, stderr)
		case "report":
			return reportCommand(args[1:], stdout, stderr)
		case "scenarios":
			for _, s := range scenarios {
				fmt.Fprintf(stdout, "%-20s %s\n", s.name, s.doc)
			}
			return nil
		default:
			return fmt.Errorf("%w: unknown command %q (want startup, report, scenarios or load flags)", errUsage, args[0])
		}
	}
	return loadCommand(ctx, args, stdout, stderr)
}
