package api

import (
	"net/http"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// idempotencyKey reads the request's Idempotency-Key into the key its
// write's call claims, or returns nil without one.
func (s *Server) idempotencyKey(w http.ResponseWriter, r *http.Request, values form.Values) (*payments.IdempotencyKey, error) {
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
	return &payments.IdempotencyKey{Key: store.IdemKey{Scope: keyFrom(r.Context()).Scope(), Key: key}, Method: r.Method, Path: r.URL.Path, Fingerprint: fp}, nil
}
