package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
)

// ParseStep runs the parsing step of the /v1 route with the given
// pattern on r, as a test-mode key of project, and answers the error it
// records (a parameter it did not read is parameter_unknown). found is
// false when the route table has no such pattern.
func (s *Server) ParseStep(pattern, project string, r *http.Request) (found bool, err error) {
	for _, rt := range s.v1Routes() {
		if rt.pattern == pattern {
			r = r.WithContext(context.WithValue(r.Context(), keyContextKey{}, &pay.APIKey{ProjectID: project}))
			_, err := rt.parse(r)
			return true, err
		}
	}
	return false, nil
}

// V1Patterns lists the route table's patterns, in order.
func (s *Server) V1Patterns() []string {
	var out []string
	for _, rt := range s.v1Routes() {
		out = append(out, rt.pattern)
	}
	return out
}
