package api

import (
	"testing"
	"time"
)

// TestLimiterSweepsIdleBuckets checks that a key's bucket is dropped by the
// first request a minute after it was last used, and that a busy key's is
// kept: the limiter forgets idle keys with no goroutine of its own.
func TestLimiterSweepsIdleBuckets(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newLimiter(10, func() time.Time { return now })
	has := func(key string) bool { _, ok := l.buckets.Load(key); return ok }

	l.allow("idle")
	l.allow("busy")
	now = now.Add(50 * time.Second)
	l.allow("busy")
	if !has("idle") || !has("busy") {
		t.Fatal("a bucket was dropped before a minute had passed")
	}
	now = now.Add(20 * time.Second) // 70 s after idle's last use, 20 s after busy's
	l.allow("other")
	if has("idle") {
		t.Error("the idle key's bucket was kept after a minute")
	}
	if !has("busy") || !has("other") {
		t.Error("a bucket in use was dropped")
	}
}
