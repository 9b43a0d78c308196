package pay

import (
	"reflect"
	"testing"
	"time"
)

func TestDunning(t *testing.T) {
	t.Parallel()
	d := DefaultDunning()
	if err := d.Check(); err != nil {
		t.Fatalf("the default schedule is refused: %v", err)
	}
	at := time.Unix(1_800_000_000, 0)
	for attempt, want := range map[int]time.Duration{1: time.Hour, 2: 24 * time.Hour, 3: 72 * time.Hour} {
		next, ok := d.NextAttempt(attempt, at)
		if !ok || next.Sub(at) != want {
			t.Errorf("NextAttempt(%d) = %v, %v; want %v later", attempt, next, ok, want)
		}
	}
	if _, ok := d.NextAttempt(4, at); ok {
		t.Error("a fourth retry of a three-retry schedule")
	}
	if _, ok := (Dunning{FinalAction: DunningCancel, InvoiceAction: DunningLeaveOpen}).NextAttempt(1, at); ok {
		t.Error("a retry of a schedule with none")
	}
	for name, bad := range map[string]Dunning{
		"retries":        {Retries: make([]time.Duration, 9), FinalAction: DunningCancel, InvoiceAction: DunningLeaveOpen},
		"too soon":       {Retries: []time.Duration{time.Second}, FinalAction: DunningCancel, InvoiceAction: DunningLeaveOpen},
		"too long":       {Retries: []time.Duration{59 * 24 * time.Hour, 2 * 24 * time.Hour}, FinalAction: DunningCancel, InvoiceAction: DunningLeaveOpen},
		"final action":   {FinalAction: "delete", InvoiceAction: DunningLeaveOpen},
		"invoice action": {FinalAction: DunningMarkUnpaid, InvoiceAction: "void"},
	} {
		if bad.Check() == nil {
			t.Errorf("%s: accepted %+v", name, bad)
		}
	}
}

func TestParseRetries(t *testing.T) {
	t.Parallel()
	got, err := ParseRetries(" 1h, 1d,3d ,90m")
	want := []time.Duration{time.Hour, 24 * time.Hour, 72 * time.Hour, 90 * time.Minute}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseRetries = %v, %v; want %v", got, err, want)
	}
	if s := FormatRetries(got); s != "1h,1d,3d,90m" {
		t.Errorf("FormatRetries = %q", s)
	}
	if got, err := ParseRetries("none"); err != nil || got != nil || FormatRetries(got) != "none" {
		t.Errorf("none: %v, %v", got, err)
	}
	for _, bad := range []string{"1", "h", "1w", "-1h", "0d", "1.5h", "1h,,2h", "01h"} {
		if _, err := ParseRetries(bad); err == nil {
			t.Errorf("ParseRetries(%q) accepted", bad)
		}
	}
}
