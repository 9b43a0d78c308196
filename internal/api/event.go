package api

import (
	"context"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// eventView is Stripe's event object, the same one webhooks deliver.
func eventView(e *pay.Event) any { return e.View() }

func (s *Server) listEvents(r *http.Request, p *params) (readFunc, error) {
	page := readPage(p)
	var f store.EventFilter
	if t, _ := p.String("type"); t != "" {
		f.Types = []string{t}
	}
	if ts, ok := p.StringSlice("types"); ok {
		if len(ts) > 20 {
			p.Fail("types", "parameter_invalid", "You may pass at most 20 types.")
		}
		if len(f.Types) > 0 {
			p.Fail("types", "parameter_invalid", "You may pass only one of type and types.")
		}
		f.Types = ts
	}
	return func(ctx context.Context, scope pay.Scope) (any, error) {
		l, err := s.db.FindEvents(ctx, scope, f, page)
		if err != nil {
			return nil, err
		}
		return newList("event", "/v1/events", l, eventView), nil
	}, nil
}
