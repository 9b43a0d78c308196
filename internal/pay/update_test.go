package pay

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"
)

// TestMetadataUpdate: "" deletes a key, Clear starts from nothing, and the
// old map is never changed.
func TestMetadataUpdate(t *testing.T) {
	old := map[string]string{"a": "1", "b": "2"}
	for _, c := range []struct {
		u    MetadataUpdate
		want map[string]string
	}{
		{MetadataUpdate{}, map[string]string{"a": "1", "b": "2"}},
		{MetadataUpdate{Set: map[string]string{"a": "", "c": "3"}}, map[string]string{"b": "2", "c": "3"}},
		{MetadataUpdate{Clear: true}, map[string]string{}},
		{MetadataUpdate{Clear: true, Set: map[string]string{"c": "3"}}, map[string]string{"c": "3"}},
	} {
		if got := c.u.Apply(old); !maps.Equal(got, c.want) {
			t.Errorf("%+v.Apply = %v, want %v", c.u, got, c.want)
		}
	}
	if len(old) != 2 {
		t.Errorf("Apply changed the old metadata: %v", old)
	}
	m := map[string]string{}
	for i := range MaxMetadataKeys {
		m[strconv.Itoa(i)] = "v"
	}
	if err := CheckMetadata(m); err != nil {
		t.Errorf("CheckMetadata(%d keys) = %v", len(m), err)
	}
	m["one more"] = "v"
	e, ok := AsError(CheckMetadata(m))
	if !ok || e.Code != "parameter_invalid" || e.Param != "metadata" || e.Message != "You can have up to 50 metadata keys." {
		t.Errorf("CheckMetadata(%d keys) = %v", len(m), e)
	}
}

// TestCustomerUpdate: only the sent fields change; a nil address inside a
// sent one unsets it.
func TestCustomerUpdate(t *testing.T) {
	name, email := "Ada", ""
	var noAddress *Address
	c := &Customer{Name: "old", Email: "a@example.com", Phone: "123", Address: &Address{City: "Leeds"}}
	CustomerUpdate{Name: &name, Email: &email, Address: &noAddress, Metadata: MetadataUpdate{Set: map[string]string{"k": "v"}}}.Apply(c)
	if c.Name != "Ada" || c.Email != "" || c.Phone != "123" || c.Address != nil || c.Metadata["k"] != "v" {
		t.Errorf("after update: %+v", c)
	}
}

func TestNotFoundAsAndClip(t *testing.T) {
	e, ok := AsError(NotFoundAs(fmt.Errorf("customer: %w", ErrNotFound), "customer", "cus_1", "id"))
	if !ok || e.Status != 404 || e.Code != "resource_missing" || e.Message != "No such customer: 'cus_1'" {
		t.Errorf("NotFoundAs = %v", e)
	}
	other := errors.New("disk on fire")
	if got := NotFoundAs(other, "customer", "cus_1", "id"); got != other {
		t.Errorf("NotFoundAs(other) = %v", got)
	}
	for in, want := range map[string]string{"four": "four", "abcdefgh": "abcd…", "ab\xffc": "abc", "é": "é"} {
		if got := Clip(in, 4); got != want {
			t.Errorf("Clip(%q, 4) = %q, want %q", in, got, want)
		}
	}
	if got := Clip("aé", 2); got != "a…" {
		t.Errorf("Clip cutting a rune = %q, want %q", got, "a…")
	}
}

func TestAmountsAndReasons(t *testing.T) {
	for cur, want := range map[string]int64{"gbp": 30, "eur": 50, "usd": 50, "jpy": 0} {
		if got := MinimumAmount(cur); got != want {
			t.Errorf("MinimumAmount(%s) = %d, want %d", cur, got, want)
		}
	}
	if !IsCancellationReason("abandoned") || IsRefundReason("abandoned") || !IsRefundReason("duplicate") || IsCancellationReason("") {
		t.Error("reasons: abandoned cancels but does not refund; duplicate refunds; \"\" is neither")
	}
}

func TestPaymentIntentUpdateApply(t *testing.T) {
	amount, currency, desc := int64(500), "eur", ""
	pi := &PaymentIntent{Amount: 100, Currency: "gbp", Description: "old", Customer: "cus_1", Metadata: map[string]string{"a": "1"}}
	PaymentIntentUpdate{Amount: &amount, Currency: &currency, Description: &desc, Metadata: MetadataUpdate{Set: map[string]string{"b": "2"}}}.Apply(pi)
	if pi.Amount != 500 || pi.Currency != "eur" || pi.Description != "" || pi.Customer != "cus_1" || len(pi.Metadata) != 2 {
		t.Errorf("after Apply: %+v", pi)
	}
}
