package webhook_test

import (
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/webhook"
)

func TestRetryPolicyWait(t *testing.T) {
	t.Parallel()
	p := webhook.DefaultRetryPolicy()
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Minute},
		{2, 2 * time.Minute},
		{3, 4 * time.Minute},
		{6, 32 * time.Minute},
		{9, 256 * time.Minute},
		{10, 8 * time.Hour},
		{40, 8 * time.Hour},
	} {
		if got := p.Wait(tt.attempt); got != tt.want {
			t.Errorf("Wait(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func TestRetryPolicyNext(t *testing.T) {
	t.Parallel()
	p := webhook.DefaultRetryPolicy()
	start := time.Unix(1_800_000_000, 0)
	// Jitter stays within ±20%.
	for _, r := range []float64{0, 0.25, 0.5, 0.999} {
		next, ok := p.Next(3, start, start.Add(time.Hour), r)
		wait := next.Sub(start.Add(time.Hour))
		if !ok || wait < 192*time.Second || wait > 288*time.Second {
			t.Errorf("Next(3, r=%v) waits %v, want 4m ± 20%%", r, wait)
		}
	}
	// The last attempt is when the window closes; a failure then gives up.
	next, ok := p.Next(12, start, start.Add(70*time.Hour), 0.5)
	if !ok || !next.Equal(start.Add(72*time.Hour)) {
		t.Errorf("Next near the window's end = %v, %v; want the window's end", next, ok)
	}
	if _, ok := p.Next(13, start, start.Add(72*time.Hour), 0.5); ok {
		t.Error("Next at the window's end retries")
	}
	// A whole failing run: about 17 attempts in three days.
	now, n := start, 1
	for {
		next, ok := p.Next(n, start, now, 0.5)
		if !ok {
			break
		}
		now, n = next, n+1
	}
	if n < 15 || n > 19 || now.Sub(start) != 72*time.Hour {
		t.Errorf("a failing run makes %d attempts over %v, want about 17 over 72h", n, now.Sub(start))
	}
}
