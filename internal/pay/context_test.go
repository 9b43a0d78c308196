package pay

import (
	"context"
	"testing"
)

func TestContext(t *testing.T) {
	ctx := context.Background()
	if RequestIDFromContext(ctx) != "" || IdempotencyKeyFromContext(ctx) != "" {
		t.Error("an empty context carries a request ID or an idempotency key")
	}
	ctx = NewContextWithIdempotencyKey(NewContextWithRequestID(ctx, "req_1"), "key-1")
	if got := RequestIDFromContext(ctx); got != "req_1" {
		t.Errorf("RequestIDFromContext = %q", got)
	}
	if got := IdempotencyKeyFromContext(ctx); got != "key-1" {
		t.Errorf("IdempotencyKeyFromContext = %q", got)
	}
}
