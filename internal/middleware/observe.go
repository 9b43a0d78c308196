package middleware

import (
	"context"
	"net/http"
)

// Observation is what the handlers of one request tell the metrics about
// it: the route pattern that served it and why it was refused, if it was
// (a rate limiter, an idempotency key). Observe puts one in the request's
// context; the rest of the chain fills it in.
type Observation struct {
	// Pattern is the ServeMux pattern of the innermost mux that routed
	// the request ("POST /v1/customers/{id}"), never the raw path.
	Pattern string
	// Limiter names the rate limiter that refused the request: "api_key",
	// "client" or "auth"; "" when none did.
	Limiter string
	// Idempotency is why the request's Idempotency-Key was refused:
	// "in_use" (another request with it is running) or "mismatch" (it was
	// used with other parameters); "" when it was not.
	Idempotency string
}

type observationKey struct{}

// WithObservation returns r with a new, empty Observation in its context.
func WithObservation(r *http.Request) (*http.Request, *Observation) {
	o := &Observation{}
	return r.WithContext(context.WithValue(r.Context(), observationKey{}, o)), o
}

// ObservationFrom returns the request's Observation, or nil outside
// WithObservation.
func ObservationFrom(ctx context.Context) *Observation {
	o, _ := ctx.Value(observationKey{}).(*Observation)
	return o
}

// Routed records h's ServeMux pattern for the metrics: wrap each handler a
// ServeMux routes to, which has set r.Pattern when it calls it. An inner
// mux's pattern replaces an outer one's.
func Routed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := ObservationFrom(r.Context()); o != nil && r.Pattern != "" {
			o.Pattern = r.Pattern
		}
		h.ServeHTTP(w, r)
	})
}

// NoteRateLimited records that the limiter named refused the request.
func NoteRateLimited(ctx context.Context, limiter string) {
	if o := ObservationFrom(ctx); o != nil {
		o.Limiter = limiter
	}
}

// NoteIdempotency records why the request's Idempotency-Key was refused.
func NoteIdempotency(ctx context.Context, reason string) {
	if o := ObservationFrom(ctx); o != nil {
		o.Idempotency = reason
	}
}
