package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestGroupCommitIsolatesFailures runs many concurrent transactions, some of
// which fail after writing: their writes must vanish, the others' must stay.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		const n = 200
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			kept = map[string]bool{}
			lost = map[string]bool{}
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var id string
				err := db.Tx(ctx, func(tx *store.Tx) error {
					c := &pay.Customer{Scope: scope, Name: fmt.Sprint(i)}
					if err := tx.CreateCustomer(ctx, c); err != nil {
						return err
					}
					id = c.ID
					if i%3 == 0 {
						return errors.New("fail after writing")
					}
					return nil
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case i%3 == 0 && err != nil:
					lost[id] = true
				case i%3 != 0 && err == nil:
					kept[id] = true
				default:
					t.Errorf("transaction %d: err = %v", i, err)
				}
			}()
		}
		wg.Wait()
		for id := range kept {
			if _, err := db.FindCustomer(ctx, scope, id); err != nil {
				t.Errorf("committed customer %s: %v", id, err)
			}
		}
		for id := range lost {
			if _, err := db.FindCustomer(ctx, scope, id); !errors.Is(err, pay.ErrNotFound) {
				t.Errorf("rolled-back customer %s: err = %v, want ErrNotFound", id, err)
			}
		}
		if len(kept)+len(lost) != n {
			t.Errorf("%d + %d outcomes, want %d", len(kept), len(lost), n)
		}
	})
}

func TestTxPanicRollsBackAndPropagates(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		var id string
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Errorf("recovered %v, want boom", p)
				}
			}()
			db.Tx(ctx, func(tx *store.Tx) error {
				c := &pay.Customer{Scope: scope}
				tx.CreateCustomer(ctx, c)
				id = c.ID
				panic("boom")
			})
		}()
		if _, err := db.FindCustomer(ctx, scope, id); !errors.Is(err, pay.ErrNotFound) {
			t.Errorf("customer of a panicking tx: err = %v", err)
		}
		// The writer still works.
		if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.CreateCustomer(ctx, &pay.Customer{Scope: scope}) }); err != nil {
			t.Errorf("Tx after a panic: %v", err)
		}
	})
}

func TestTxCanceledContext(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ran := false
		err := db.Tx(ctx, func(tx *store.Tx) error { ran = true; return nil })
		if err == nil || ran {
			t.Errorf("Tx with a canceled context: err = %v, ran = %v", err, ran)
		}
	})
}
