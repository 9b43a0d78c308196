package payments

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
)

// changedFieldsByMaps is how EmitUpdate found the changed fields before it
// compared encodings: every field of both views decoded into maps and each
// value encoded again. changedFields must agree with it on every pair of
// views encoding/json writes.
func changedFieldsByMaps(before, after any) (map[string]any, error) {
	old, err := pay.ToMap(before)
	if err != nil {
		return nil, err
	}
	cur, err := pay.ToMap(after)
	if err != nil {
		return nil, err
	}
	prev := map[string]any{}
	for k, v := range old {
		a, _ := json.Marshal(v)
		b, _ := json.Marshal(cur[k])
		if !bytes.Equal(a, b) {
			prev[k] = v
		}
	}
	return prev, nil
}

// checkChangedFields compares changedFields on the encodings of before and
// after with changedFieldsByMaps, as decoded JSON.
func checkChangedFields(t *testing.T, before, after any) {
	t.Helper()
	old, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := json.Marshal(after)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{old, cur} {
		if _, ok := topFields(b); !ok {
			t.Errorf("topFields(%s) refused what json.Marshal wrote", b)
		}
	}
	want, err := changedFieldsByMaps(before, after)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	if !bytes.Equal(old, cur) {
		raw, err := changedFields(old, cur)
		if err != nil {
			t.Fatal(err)
		}
		if raw != nil {
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&got); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changedFields(%s, %s) = %v, want %v", old, cur, got, want)
	}
}

func TestChangedFieldsOfViews(t *testing.T) {
	t.Parallel()
	inv := &pay.Invoice{ID: "in_1", Status: pay.InvoiceStatusDraft, Currency: "gbp", Customer: "cus_1", AutoAdvance: true,
		Lines: []pay.InvoiceLine{{ID: "il_1", Amount: 1500, Quantity: 1, UnitAmount: 1500, Description: "1 × <Plan> & more"}}}
	before := pay.InvoiceView(inv, "http://calmony.test")
	inv.Status, inv.Number, inv.Token, inv.FinalizedAt = pay.InvoiceStatusOpen, "ABC-0001", "inv_tok", 1700000000
	inv.Metadata = map[string]string{"b": "2", "a": "1"}
	checkChangedFields(t, before, pay.InvoiceView(inv, "http://calmony.test"))
	checkChangedFields(t, before, before)

	sub := &pay.Subscription{ID: "sub_1", Status: pay.SubscriptionActive, Customer: "cus_1", CurrentPeriodStart: 1, CurrentPeriodEnd: 2,
		Items: []*pay.SubscriptionItem{{ID: "si_1", Quantity: 1, Price: &pay.Price{ID: "price_1", Currency: "gbp", UnitAmount: 1500,
			Recurring: &pay.Recurring{Interval: "month", IntervalCount: 1}}}}}
	sb := pay.SubscriptionView(sub)
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd, sub.LatestInvoice = 2, 3, "in_2"
	checkChangedFields(t, sb, pay.SubscriptionView(sub))
}

// FuzzChangedFields: on any two JSON objects, as encoding/json writes them
// (compact, keys of maps sorted), changedFields finds what the maps did.
func FuzzChangedFields(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"x":[1,2]},"c":null}`), []byte(`{"a":1,"b":{"x":[1,3]},"d":"<&>"}`))
	f.Add([]byte(`{"a":"\u00e9","n":1.50,"z":{}}`), []byte(`{"a":"é","n":1.5,"z":[]}`))
	f.Add([]byte(`{}`), []byte(`{"a":true}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var x, y map[string]any
		if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil || x == nil || y == nil {
			t.Skip()
		}
		// Numbers as written (json.Number), as the old way kept them.
		var xn, yn map[string]any
		dx, dy := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
		dx.UseNumber()
		dy.UseNumber()
		if dx.Decode(&xn) != nil || dy.Decode(&yn) != nil {
			t.Skip()
		}
		checkChangedFields(t, xn, yn)
	})
}
