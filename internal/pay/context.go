package pay

import "context"

// The request-scoped values an operation records on what it writes (an
// event's request ID and idempotency key). The HTTP layer puts them in the
// context; operations read them without knowing about HTTP.

type requestIDKey struct{}

type idempotencyKeyKey struct{}

// NewContextWithRequestID returns ctx carrying the ID of the request it
// serves.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the request ID in ctx, or "" outside a
// request (a background loop, say).
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewContextWithIdempotencyKey returns ctx carrying the Idempotency-Key of
// the request it serves.
func NewContextWithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyKey{}, key)
}

// IdempotencyKeyFromContext returns the idempotency key in ctx, or "" if the
// request sent none.
func IdempotencyKeyFromContext(ctx context.Context) string {
	key, _ := ctx.Value(idempotencyKeyKey{}).(string)
	return key
}
