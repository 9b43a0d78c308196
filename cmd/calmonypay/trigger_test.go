package main

import (
	"testing"

	"github.com/calmony/calmonypay/internal/pay"
)

// TestTriggerCoversEveryEventType: `calmonypay trigger` can produce every
// event type the server emits, but checkout.session.completed, which needs
// a shopper paying on the hosted page.
func TestTriggerCoversEveryEventType(t *testing.T) {
	t.Parallel()
	all := fixtures()
	for _, typ := range pay.EventTypes() {
		_, ok := all[typ]
		if want := typ != pay.EventCheckoutSessionCompleted; ok != want {
			t.Errorf("trigger %s: has a fixture = %v, want %v", typ, ok, want)
		}
	}
	if len(all) != len(pay.EventTypes())-1 {
		t.Errorf("%d fixtures for %d event types", len(all), len(pay.EventTypes()))
	}
}
