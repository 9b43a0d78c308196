package api

import (
	"net/http"
	"time"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// idempotencyLease is how long a claimed key that no gateway op is bound to
// stays "in flight" if its owner dies without finishing; a retry after that
// runs the request again, which is safe because such a claim means nothing
// of it was committed. A key bound to an op is never run again (staged.go).
const idempotencyLease = time.Minute

// claim is an idempotency key this request owns, or is about to claim.
type claim struct {
	key          store.IdemKey
	method, path string
	fingerprint  string
}

// idempotencyClaim reads the request's Idempotency-Key into the claim to
// make, or returns nil without one.
func (s *Server) idempotencyClaim(w http.ResponseWriter, r *http.Request, values form.Values) (*claim, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, nil
	}
	if len(key) > 255 {
		return nil, pay.InvalidRequest("idempotency_key_invalid", "Idempotency-Key", "Idempotency-Key must be at most 255 characters.")
	}
	w.Header().Set("Idempotency-Key", key)
	// A keyed MAC, not a plain hash: the parameters may hold card data.
	fp := s.keys.MAC(append([]byte(r.Method+"\x00"+r.URL.Path+"\x00"), values.Canonical()...))
	return &claim{key: store.IdemKey{Scope: keyFrom(r.Context()).Scope(), Key: key}, method: r.Method, path: r.URL.Path, fingerprint: fp}, nil
}

// answerIdempotent answers a request whose key was not claimed because of
// an earlier request with the same key: it replays that one's response
// (done) or returns the refusal. A started claim leaves it to the caller.
func answerIdempotent(w http.ResponseWriter, rec *store.IdemRecord) (done bool, err error) {
	switch rec.Outcome {
	case store.IdemReplay:
		w.Header().Set("Idempotent-Replayed", "true")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(rec.Status)
		w.Write(rec.Response)
		w.Write([]byte{'\n'})
		return true, nil
	case store.IdemMismatch:
		return false, &pay.Error{Status: http.StatusBadRequest, Type: pay.ErrorTypeIdempotency,
			Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Use a new key for a different request."}
	case store.IdemInFlight, store.IdemBound:
		w.Header().Set("Stripe-Should-Retry", "true")
		return false, &pay.Error{Status: http.StatusConflict, Type: pay.ErrorTypeInvalidRequest, Code: "idempotency_key_in_use",
			Message: "There is currently another in-progress request using this Idempotency-Key. Retry after it has completed."}
	}
	return false, nil
}
