package form

import (
	"net/http"
	"strings"
)

// CheckRequestText applies the parameters' text rule (CheckText: valid
// UTF-8, no NUL) to what else a handler reads from the request: the
// wildcards of its route's path ({id}) and the headers it reads.
func CheckRequestText(r *http.Request) error {
	for _, name := range wildcards(r.Pattern) {
		if err := CheckText(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	for _, h := range []string{"Idempotency-Key", "Stripe-Version"} {
		if err := CheckText(h, r.Header.Get(h)); err != nil {
			return err
		}
	}
	return nil
}

// wildcards returns the names of a ServeMux pattern's wildcards: id for
// "GET /v1/customers/{id}".
func wildcards(pattern string) []string {
	var names []string
	for {
		_, rest, ok := strings.Cut(pattern, "{")
		if !ok {
			return names
		}
		name, after, _ := strings.Cut(rest, "}")
		if name = strings.TrimSuffix(name, "..."); name != "$" {
			names = append(names, name)
		}
		pattern = after
	}
}
