package store_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/store/storetest"
)

// TestSearchMetadataKeys: metadata clauses compare keys as they are on
// both databases, whatever a key holds (quotes, dots, $, backslashes), and
// search pages by keyset with a count of every match.
func TestSearchMetadataKeys(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		scope := storetest.Project(t, db)
		keys := []string{`plain`, `it's "quoted"`, `a.b`, `$.a`, `$`, `back\slash`, `naïve`, `[0]`}
		var ids []string
		for _, k := range keys {
			c := createCustomer(t, db, &pay.Customer{Scope: scope, Metadata: map[string]string{k: "v " + k, "all": "yes"}})
			ids = append(ids, c.ID)
		}
		query := func(q string) pay.SearchQuery {
			t.Helper()
			sq, err := pay.ParseSearchQuery(q, store.SearchFields("customers"))
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return sq
		}
		for i, k := range keys {
			// Only a clause built from the key itself: a query string would need the key quoted.
			sq := pay.SearchQuery{Clauses: []pay.SearchClause{{Field: "metadata", Kind: pay.SearchMetadata, Key: k, Op: pay.SearchEq, Value: "v " + k}}}
			res, err := db.SearchCustomers(ctx, scope, sq, pay.SearchPage{Limit: 10})
			if err != nil {
				t.Fatalf("key %q: %v", k, err)
			}
			if got := idsOf(res.Data); !cmp.Equal(got, []string{ids[i]}) {
				t.Errorf("metadata[%q] = %v, want %v", k, got, ids[i])
			}
		}
		// Pages of three, newest first, with the total on each.
		var seen []string
		page := pay.SearchPage{Limit: 3, Count: true}
		for {
			res, err := db.SearchCustomers(ctx, scope, query("metadata['all']:'yes'"), page)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != int64(len(keys)) {
				t.Errorf("total = %d, want %d", res.Total, len(keys))
			}
			seen = append(seen, idsOf(res.Data)...)
			if !res.HasMore {
				break
			}
			page.After = res.Next
		}
		want := make([]string, len(ids))
		for i, id := range ids {
			want[len(ids)-1-i] = id
		}
		if diff := cmp.Diff(want, seen); diff != "" {
			t.Errorf("paged search (-want +got):\n%s", diff)
		}
	})
}
