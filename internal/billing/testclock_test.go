package billing_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/billing"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/secret"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// The names here carry "clock" so that other billing tests' helpers may sit
// beside them.

// clockNow is the real time the services and the store read in these tests.
var clockNow = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

// clockEnv is a billing.Service on a real store with one test-mode
// project, called as the API or a scheduler would: no HTTP.
type clockEnv struct {
	db    *store.DB
	pay   *payments.Service
	bill  *billing.Service
	scope pay.Scope
}

func newClockEnv(t *testing.T, postgres bool) *clockEnv {
	t.Helper()
	now := func() time.Time { return clockNow }
	db := storetest.OpenWithClock(t, postgres, now)
	return clockServices(db, storetest.Project(t, db))
}

// clockServices makes the services of one instance on db.
func clockServices(db *store.DB, scope pay.Scope) *clockEnv {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := func() time.Time { return clockNow }
	svc := payments.New(payments.Config{DB: db, Keys: db.Keys(), Logger: log, Now: now, PublicURL: "http://calmony.test"})
	return &clockEnv{db: db, pay: svc, bill: billing.New(billing.Config{DB: db, Payments: svc, Logger: log, Now: now}), scope: scope}
}

func (e *clockEnv) plain() payments.Call { return payments.Plain(e.scope) }

// create creates a clock at frozen and returns it.
func (e *clockEnv) create(t *testing.T, frozen int64, name string) *pay.TestClock {
	t.Helper()
	a, err := e.bill.CreateTestClock(context.Background(), e.plain(), billing.TestClockParams{FrozenTime: frozen, Name: name})
	if err != nil {
		t.Fatalf("create test clock: %v", err)
	}
	return answeredClock(t, a)
}

func answeredClock(t *testing.T, a *payments.Answer) *pay.TestClock {
	t.Helper()
	c, ok := a.Object.(*pay.TestClock)
	if !ok || a.Err != nil {
		t.Fatalf("answer: %T (err %v), want a test clock", a.Object, a.Err)
	}
	return c
}

// clock reads a clock from the store.
func (e *clockEnv) clock(t *testing.T, id string) *pay.TestClock {
	t.Helper()
	c, err := e.db.FindTestClock(context.Background(), e.scope, id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// customer creates a customer, on the clock clockID if not "".
func (e *clockEnv) customer(t *testing.T, clockID string) string {
	t.Helper()
	a, err := e.pay.CreateCustomer(context.Background(), e.plain(), pay.CustomerUpdate{TestClock: &clockID}, nil)
	if err != nil {
		t.Fatalf("create customer on %q: %v", clockID, err)
	}
	return a.Object.(*pay.Customer).ID
}

// events returns the scope's events, oldest first, as type and object ID.
func (e *clockEnv) events(t *testing.T) []clockEvent {
	t.Helper()
	l, err := e.db.FindEvents(context.Background(), e.scope, store.EventFilter{}, pay.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []clockEvent
	for i := len(l.Data) - 1; i >= 0; i-- {
		ev := l.Data[i]
		var data struct{ Object map[string]any }
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		out = append(out, clockEvent{Type: ev.Type, ObjectID: ev.ObjectID, Object: data.Object})
	}
	return out
}

type clockEvent struct {
	Type, ObjectID string
	Object         map[string]any
}

func eventTypes(evs []clockEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// wantPayError fails the test unless err is a *pay.Error with status,
// code and param.
func wantPayError(t *testing.T, what string, err error, status int, code, param string) {
	t.Helper()
	e, ok := pay.AsError(err)
	if !ok {
		t.Errorf("%s: err = %v, want a %d %s error naming %q", what, err, status, code, param)
		return
	}
	if e.Status != status || e.Code != code || e.Param != param || e.Message == "" {
		t.Errorf("%s: error %d %s (%s) %q, want %d %s naming %q", what, e.Status, e.Code, e.Param, e.Message, status, code, param)
	}
}

// An advance records its target and answers advancing; AdvanceClocks then
// moves the clock to the target and makes it ready, once, with the events
// of each step carrying the clock as it then was.
func TestTestClockAdvance(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newClockEnv(t, postgres)
		ctx := context.Background()
		const start, target = 1_577_836_800, 1_577_836_800 + 40*86400
		c := e.create(t, start, "renewals")
		if c.Status != pay.TestClockReady || c.FrozenTime != start || c.Name != "renewals" || c.Created != clockNow.Unix() ||
			c.DeletesAfter() != clockNow.Add(30*24*time.Hour).Unix() {
			t.Errorf("created clock = %+v (deletes after %d)", c, c.DeletesAfter())
		}
		cus := e.customer(t, c.ID)
		plain := e.customer(t, "")

		a, err := e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, target)
		if err != nil {
			t.Fatal(err)
		}
		if got := answeredClock(t, a); got.Status != pay.TestClockAdvancing || got.FrozenTime != start || got.TargetFrozenTime != target {
			t.Errorf("advance answered %+v, want advancing to %d", got, target)
		}
		// Until the advance is finished, the clock's customers live at its
		// old time; those on no clock at the real time.
		for _, tc := range []struct {
			customer string
			want     int64
		}{{cus, start}, {plain, clockNow.Unix()}} {
			got, err := e.db.FindCustomer(ctx, e.scope, tc.customer)
			if err != nil {
				t.Fatal(err)
			}
			if now, err := e.bill.CustomerNow(ctx, e.db, got); err != nil || now.Unix() != tc.want {
				t.Errorf("CustomerNow(%s) = %v, %v; want %d", tc.customer, now, err, tc.want)
			}
		}

		for range 2 { // the second run finds nothing to do
			if err := e.bill.AdvanceClocks(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.clock(t, c.ID); got.Status != pay.TestClockReady || got.FrozenTime != target || got.TargetFrozenTime != 0 {
			t.Errorf("after AdvanceClocks: %+v, want ready at %d", got, target)
		}
		if now, err := e.bill.ClockNow(ctx, e.db, e.scope, c.ID); err != nil || now.Unix() != target {
			t.Errorf("ClockNow = %v, %v; want %d", now, err, target)
		}

		var clockEvents []clockEvent
		for _, ev := range e.events(t) {
			if ev.ObjectID == c.ID {
				clockEvents = append(clockEvents, ev)
			}
		}
		want := []string{"test_helpers.test_clock.created", "test_helpers.test_clock.advancing", "test_helpers.test_clock.ready"}
		if got := eventTypes(clockEvents); !slices.Equal(got, want) {
			t.Fatalf("clock events %v, want %v", got, want)
		}
		for i, w := range []struct {
			status string
			frozen float64
			target any
		}{{"ready", start, nil}, {"advancing", start, float64(target)}, {"ready", target, nil}} {
			obj := clockEvents[i].Object
			details, _ := obj["status_details"].(map[string]any)
			var got any
			if adv, ok := details["advancing"].(map[string]any); ok {
				got = adv["target_frozen_time"]
			}
			if obj["status"] != w.status || obj["frozen_time"] != w.frozen || got != w.target || obj["object"] != "test_helpers.test_clock" {
				t.Errorf("%s event's clock = %v, want %s at %v advancing to %v", clockEvents[i].Type, obj, w.status, w.frozen, w.target)
			}
		}

		// Advanced again, from the new time.
		if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, target+1); err != nil {
			t.Errorf("a second advance: %v", err)
		}
	})
}

// Every refusal is a 4xx naming the parameter, and writes nothing.
func TestTestClockRefusals(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newClockEnv(t, postgres)
		ctx := context.Background()
		const start = 1_700_000_000
		c := e.create(t, start, "")
		twoYears := time.Unix(start, 0).UTC().AddDate(2, 0, 0).Unix()
		live := payments.Plain(pay.Scope{ProjectID: e.scope.ProjectID, Livemode: true})
		other := clockServices(e.db, storetest.Project(t, e.db))
		before := len(e.events(t))

		_, err := e.bill.CreateTestClock(ctx, live, billing.TestClockParams{FrozenTime: start})
		wantPayError(t, "create in live mode", err, http.StatusBadRequest, "livemode_mismatch", "")
		_, err = e.bill.AdvanceTestClock(ctx, live, c.ID, start+1)
		wantPayError(t, "advance in live mode", err, http.StatusBadRequest, "livemode_mismatch", "")
		_, err = e.bill.DeleteTestClock(ctx, live, c.ID)
		wantPayError(t, "delete in live mode", err, http.StatusBadRequest, "livemode_mismatch", "")
		_, err = e.pay.CreateCustomer(ctx, live, pay.CustomerUpdate{TestClock: &c.ID}, nil)
		wantPayError(t, "a live customer on a clock", err, http.StatusBadRequest, "livemode_mismatch", "test_clock")

		for _, target := range []int64{start - 1, start} {
			_, err = e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, target)
			wantPayError(t, "advance to the frozen time or before", err, http.StatusBadRequest, "parameter_invalid", "frozen_time")
		}
		_, err = e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, twoYears+1)
		wantPayError(t, "advance beyond two years", err, http.StatusBadRequest, "parameter_invalid", "frozen_time")

		for _, tc := range []struct {
			name string
			env  *clockEnv
			id   string
		}{{"unknown", e, "clock_unknown"}, {"another project's", other, c.ID}} {
			_, err = tc.env.bill.AdvanceTestClock(ctx, tc.env.plain(), tc.id, start+1)
			wantPayError(t, "advance of "+tc.name+" clock", err, http.StatusNotFound, "resource_missing", "id")
			_, err = tc.env.bill.DeleteTestClock(ctx, tc.env.plain(), tc.id)
			wantPayError(t, "delete of "+tc.name+" clock", err, http.StatusNotFound, "resource_missing", "id")
			_, err = tc.env.pay.CreateCustomer(ctx, tc.env.plain(), pay.CustomerUpdate{TestClock: &tc.id}, nil)
			wantPayError(t, "a customer on "+tc.name+" clock", err, http.StatusNotFound, "resource_missing", "test_clock")
		}
		if got := e.events(t); len(got) != before {
			t.Errorf("refused calls wrote events: %v", eventTypes(got[before:]))
		}
		if got := e.clock(t, c.ID); got.Status != pay.TestClockReady || got.FrozenTime != start {
			t.Errorf("refused calls changed the clock: %+v", got)
		}

		// Exactly two years is allowed; then, while it advances, no other advance.
		if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, twoYears); err != nil {
			t.Fatalf("advance by two years: %v", err)
		}
		_, err = e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, twoYears+1)
		wantPayError(t, "advance while advancing", err, http.StatusBadRequest, "test_clock_unexpected_state", "")
		if got := e.clock(t, c.ID); got.TargetFrozenTime != twoYears {
			t.Errorf("the refused advance changed the target: %+v", got)
		}
	})
}

// Deleting a clock deletes its customers, each as a customer DELETE does
// (its cards detached), with their events and the clock's in one
// transaction; other customers stay.
func TestTestClockDelete(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newClockEnv(t, postgres)
		ctx := context.Background()
		c := e.create(t, 1_700_000_000, "to delete")
		first, second := e.customer(t, c.ID), e.customer(t, c.ID)
		gone := e.customer(t, c.ID)
		if _, err := e.pay.DeleteCustomer(ctx, e.plain(), gone); err != nil {
			t.Fatal(err)
		}
		elsewhere := e.customer(t, e.create(t, 1_700_000_000, "").ID)
		plain := e.customer(t, "")
		before := len(e.events(t))

		a, err := e.bill.DeleteTestClock(ctx, e.plain(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Object != (pay.DeletedObject{ID: c.ID, Object: "test_helpers.test_clock", Deleted: true}) {
			t.Errorf("delete answered %#v", a.Object)
		}
		evs := e.events(t)[before:]
		want := []clockEvent{{Type: "customer.deleted", ObjectID: first}, {Type: "customer.deleted", ObjectID: second},
			{Type: "test_helpers.test_clock.deleted", ObjectID: c.ID}}
		if len(evs) != len(want) {
			t.Fatalf("events of the delete: %v, want %v", evs, want)
		}
		for i := range want {
			if evs[i].Type != want[i].Type || evs[i].ObjectID != want[i].ObjectID {
				t.Errorf("event %d: %s of %s, want %s of %s", i, evs[i].Type, evs[i].ObjectID, want[i].Type, want[i].ObjectID)
			}
		}
		if obj := evs[2].Object; obj["id"] != c.ID || obj["name"] != "to delete" || obj["status"] != "ready" {
			t.Errorf("the deleted event carries %v, want the clock as it was", obj)
		}
		for id, deleted := range map[string]bool{first: true, second: true, elsewhere: false, plain: false} {
			if cus, err := e.db.FindCustomer(ctx, e.scope, id); err != nil || cus.Deleted != deleted {
				t.Errorf("customer %s: %+v, %v; want deleted %v", id, cus, err, deleted)
			}
		}
		if _, err := e.db.FindTestClock(ctx, e.scope, c.ID); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("the deleted clock: err = %v, want ErrNotFound", err)
		}
		_, err = e.bill.DeleteTestClock(ctx, e.plain(), c.ID)
		wantPayError(t, "a second delete", err, http.StatusNotFound, "resource_missing", "id")
		_, err = e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, 1_700_000_001)
		wantPayError(t, "an advance after the delete", err, http.StatusNotFound, "resource_missing", "id")
	})
}

// A clock deleted while it advances is not finished (nor made ready).
func TestTestClockDeletedWhileAdvancing(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		e := newClockEnv(t, postgres)
		ctx := context.Background()
		c := e.create(t, 1_700_000_000, "")
		if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, 1_700_000_100); err != nil {
			t.Fatal(err)
		}
		if _, err := e.bill.DeleteTestClock(ctx, e.plain(), c.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.bill.AdvanceClocks(ctx); err != nil {
			t.Fatal(err)
		}
		for _, ev := range e.events(t) {
			if ev.Type == "test_helpers.test_clock.ready" {
				t.Errorf("a ready event for the deleted clock")
			}
		}
	})
}

// Two instances on one PostgreSQL database (two services on one store, on
// SQLite) finish advances at once: each clock is finished, and its ready
// event written, once.
func TestTestClockAdvanceRace(t *testing.T) {
	t.Parallel()
	storetest.Dialects(t, func(t *testing.T, postgres bool) {
		var e, second *clockEnv
		if postgres {
			dsn, master := storetest.DSN(t, true), secret.NewKey()
			db := openClockDB(t, dsn, master)
			e = clockServices(db, storetest.Project(t, db))
			second = clockServices(openClockDB(t, dsn, master), e.scope)
		} else {
			e = newClockEnv(t, false)
			second = clockServices(e.db, e.scope)
		}
		ctx := context.Background()
		const clocks = 12
		want := map[string]bool{}
		for range clocks {
			c := e.create(t, 1_700_000_000, "")
			if _, err := e.bill.AdvanceTestClock(ctx, e.plain(), c.ID, 1_700_086_400); err != nil {
				t.Fatal(err)
			}
			want[c.ID] = true
		}
		var wg sync.WaitGroup
		for _, inst := range []*clockEnv{e, second, e, second} {
			wg.Go(func() {
				if err := inst.bill.AdvanceClocks(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		ready := map[string]int{}
		for _, ev := range e.events(t) {
			if ev.Type == "test_helpers.test_clock.ready" {
				ready[ev.ObjectID]++
			}
		}
		for id := range want {
			if ready[id] != 1 {
				t.Errorf("clock %s has %d ready events, want 1", id, ready[id])
			}
			if c := e.clock(t, id); c.Status != pay.TestClockReady || c.FrozenTime != 1_700_086_400 {
				t.Errorf("clock %s = %+v", id, c)
			}
		}
	})
}

// openClockDB opens and migrates the database at dsn with the master key
// master, as an instance of the server would.
func openClockDB(t *testing.T, dsn, master string) *store.DB {
	t.Helper()
	ctx := context.Background()
	key, err := secret.ParseKey(master)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, store.Options{DSN: dsn, Keys: keys, MaxConns: 4, Now: func() time.Time { return clockNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
