package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
	"github.com/calmony/calmonypay/internal/config"
)

// sandboxCommand runs the Cardstream sandbox on its own, for tests and demos
// of other software against Cardstream's protocol.
func sandboxCommand(ctx context.Context, args []string, e *env) error {
	fs := newFlagSet("sandbox", e)
	addr := fs.String("addr", config.EnvOr(e.getenv, "CALMONY_SANDBOX_ADDR", "127.0.0.1:8090"), "listen address (CALMONY_SANDBOX_ADDR)")
	settleAfter := fs.Duration("settle-after", 0, "settle captured transactions after this long (0: only via POST /sandbox/settle)")
	maxTx, _ := strconv.Atoi(e.getenv("CALMONY_SANDBOX_MAX_TRANSACTIONS"))
	maxTransactions := fs.Int("max-transactions", maxTx,
		"transactions kept, about 650 bytes each; beyond it the least recently used are forgotten, saved cards included; 0: 10000 (CALMONY_SANDBOX_MAX_TRANSACTIONS)")
	merchants := sandbox.MerchantFlags{}
	fs.Var(merchants, "merchant", "extra merchant account as ID:SECRET (repeatable); 100001 and 100856 are always known")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	if *maxTransactions < 0 {
		return errors.New("--max-transactions must be 0 or more")
	}
	sb, err := sandbox.New(sandbox.Options{Merchants: merchants, Logger: log, SettleAfter: *settleAfter, BaseURL: base,
		MaxTransactions: *maxTransactions})
	if err != nil {
		return err
	}
	hs := newHTTPServer(sb, log)
	fmt.Fprintf(e.stdout, "Cardstream sandbox listening on %s\n  Direct API   %s/direct/\n  Hosted page  %s/hosted/\n  Settle       POST %s/sandbox/settle\n  Test account 100001 / Circle4Take40Idea\n",
		base, base, base, base)
	if e.ready != nil {
		e.ready(base)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
