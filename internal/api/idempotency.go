package api

import (
	"context"
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// idempotencyLease is how long a claimed key stays "in flight" if its owner
// dies without finishing; a retry after that runs the request again, which
// is safe because an unfinished claim means nothing of it was committed.
const idempotencyLease = time.Minute

// claim is an idempotency key this request owns.
type claim struct {
	key store.IdemKey
}

type claimContextKey struct{}

func withClaim(ctx context.Context, c *claim) context.Context {
	return context.WithValue(ctx, claimContextKey{}, c)
}

// idempotencyKeyFrom returns the request's idempotency key, or "".
func idempotencyKeyFrom(ctx context.Context) string {
	if c, ok := ctx.Value(claimContextKey{}).(*claim); ok {
		return c.key.Key
	}
	return ""
}

// claimIdempotencyKey handles the Idempotency-Key header of a write. It
// returns the claim the request now owns (nil without a header), or done=true
// when it has already answered: a replay of the first response, or a refusal.
func (s *Server) claimIdempotencyKey(w http.ResponseWriter, r *http.Request, values form.Values) (*claim, bool, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, false, nil
	}
	if len(key) > 255 {
		return nil, false, pay.InvalidRequest("idempotency_key_invalid", "Idempotency-Key", "Idempotency-Key must be at most 255 characters.")
	}
	w.Header().Set("Idempotency-Key", key)
	c := &claim{key: store.IdemKey{Scope: keyFrom(r.Context()).Scope(), Key: key}}
	// A keyed MAC, not a plain hash: the parameters may hold card data.
	fp := s.keys.MAC(append([]byte(r.Method+"\x00"+r.URL.Path+"\x00"), values.Canonical()...))
	rec, err := s.db.BeginIdempotent(r.Context(), c.key, r.Method, r.URL.Path, fp, idempotencyLease)
	if err != nil {
		return nil, false, err
	}
	switch rec.Outcome {
	case store.IdemReplay:
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(rec.Status)
		w.Write(rec.Response)
		w.Write([]byte{'\n'})
		return nil, true, nil
	case store.IdemMismatch:
		return nil, false, &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeIdempotency,
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Use a new key for a different request."}
	case store.IdemInFlight:
		w.Header().Set("Stripe-Should-Retry", "true")
		return nil, false, &pay.Error{Status: http.StatusConflict, Type: pay.ErrorTypeInvalidRequest, Code: "idempotency_key_in_use",
			Message: "There is currently another in-progress request using this Idempotency-Key. Retry after it has completed."}
	}
	return c, false, nil
}

// releaseClaim gives up a claim whose request failed without writing, so the
// client may retry with the same key. It must run even if the request's
// context was canceled.
func (s *Server) releaseClaim(r *http.Request, c *claim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := s.db.ReleaseIdempotent(ctx, c.key); err != nil {
		s.log.ErrorContext(ctx, "release idempotency key", "request_id", requestID(r), "err", err)
	}
}
