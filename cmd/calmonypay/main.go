// Command calmonypay is the Calmony Pay server and its administration tool.
//
//	calmonypay serve      run the API, hosted pages and the Cardstream sandbox
//	calmonypay migrate    apply database migrations
//	calmonypay keys       create, list, revoke and roll secret API keys
//	calmonypay origins    manage a project's CORS allowlist
//	calmonypay currencies the currencies a project may charge in
//	calmonypay dashboard  print a one-time dashboard sign-in link
//	calmonypay gateway    gateway operations that need an operator
//	calmonypay billing    run the billing scheduler once (for cron)
//	calmonypay listen     forward webhook events to a local app
//	calmonypay trigger    create test objects that emit an event
//	calmonypay sandbox    run the Cardstream sandbox on its own
//	calmonypay dev seed   fill a project's test mode with realistic data
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is the outside world a command sees, so tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// ready, if set, is called by serve with the listening base URL.
	ready func(baseURL string)
}
