package billing_test

import (
	"context"
	"flag"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

var renewalsN = flag.Int("renewals", 1000, "BenchmarkRenewals: subscriptions renewed by each advance")

// BenchmarkRenewals times the scheduler's work for one advance of a month
// of a test clock with -renewals subscriptions on it, each renewed,
// finalised and charged through the sandbox, with no HTTP: the in-process
// half of calmony-bench's billing.renewals scenario. Each iteration
// advances the same clock another month. The store has serve's pool size.
//
//	go test -run '^$' -bench Renewals -benchtime 3x -renewals 2000 ./internal/billing
func BenchmarkRenewals(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			postgres := dialect == "postgres"
			dsn := storetest.DSN(b, postgres) // skips PostgreSQL unless configured
			ctx := context.Background()
			db, err := store.Open(ctx, store.Options{DSN: dsn, Keys: storetest.Keys(b)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			if err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			benchRenewals(b, newInvEnvOn(b, db), *renewalsN)
		})
	}
}

func benchRenewals(b *testing.B, e *invEnv, n int) {
	ctx := context.Background()
	a, err := e.bill.CreatePrice(ctx, e.plain(), billing.PriceParams{
		PriceData:   billing.PriceData{Currency: "gbp", UnitAmount: 1500, Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}},
		ProductData: &billing.ProductParams{Product: pay.ProductUpdate{Name: ptr("Plan")}}})
	if err != nil {
		b.Fatal(err)
	}
	price := a.Object.(*pay.Price).ID
	a, err = e.bill.CreateTestClock(ctx, e.plain(), billing.TestClockParams{FrozenTime: t0})
	if err != nil {
		b.Fatal(err)
	}
	clock := a.Object.(*pay.TestClock)
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		setupErr error
		once     sync.Once
	)
	for range 16 {
		wg.Go(func() {
			for int(next.Add(1)) <= n {
				if err := e.benchSubscriber(ctx, clock.ID, price); err != nil {
					once.Do(func() { setupErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if setupErr != nil {
		b.Fatal(setupErr)
	}
	sales, stats, cpu := e.gw.sales.Load(), e.db.Stats(), cpuTime(b)
	frozen, months := clock.FrozenTime, 0
	for b.Loop() {
		frozen = time.Unix(frozen, 0).UTC().AddDate(0, 1, 0).Unix() + pay.FinalizeDelay + 60
		if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), clock.ID, frozen); err != nil {
			b.Fatal(err)
		}
		if err := e.bill.AdvanceClocks(ctx); err != nil {
			b.Fatal(err)
		}
		months++
	}
	b.StopTimer()
	cpu = cpuTime(b) - cpu
	if c, err := e.db.FindTestClock(ctx, e.scope, clock.ID); err != nil || c.Status != pay.TestClockReady || c.FrozenTime != frozen {
		b.Fatalf("clock after the advances: %+v, %v", c, err)
	}
	if got, want := e.gw.sales.Load()-sales, int64(n*months); got != want {
		b.Fatalf("%d renewal charges, want %d", got, want)
	}
	renewals := float64(n * months)
	after := e.db.Stats()
	b.ReportMetric(renewals/b.Elapsed().Seconds(), "renewals/s")
	b.ReportMetric(float64(cpu.Microseconds())/renewals, "cpu-µs/renewal")
	b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cores")
	b.ReportMetric(float64(after.Transactions-stats.Transactions)/renewals, "tx/renewal")
	if after.RoundTrips > stats.RoundTrips {
		b.ReportMetric(float64(after.RoundTrips-stats.RoundTrips)/renewals, "trips/renewal")
	}
	b.ReportMetric(0, "ns/op")
}

// benchSubscriber makes a customer on clock with pm_card_visa as its default
// card and subscribes it to price.
func (e *invEnv) benchSubscriber(ctx context.Context, clock, price string) error {
	card := "pm_card_visa"
	a, err := e.pay.CreateCustomer(ctx, e.plain(), pay.CustomerUpdate{Name: ptr("Ada"), TestClock: &clock, DefaultPaymentMethod: &card}, &card)
	if err != nil {
		return err
	}
	_, err = e.bill.CreateSubscription(ctx, e.plain(), billing.SubscriptionParams{Customer: a.Object.(*pay.Customer).ID,
		Items: []billing.SubscriptionItemParams{{Price: price}}})
	return err
}

// cpuTime is the CPU time the process has used so far (the server's share
// of it, in this benchmark: PostgreSQL's processes are not counted).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
