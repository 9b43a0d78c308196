package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// A route handler parses and validates the request, then returns the work to
// do. Parsing first means bad input is refused before any idempotency key is
// claimed or any transaction is opened.
type (
	readHandler  func(r *http.Request, p *params) (readFunc, error)
	writeHandler func(r *http.Request, p *params) (writeFunc, error)
	// readFunc reads the response object through the read pool.
	readFunc func(ctx context.Context, scope pay.Scope) (any, error)
	// writeFunc does its writes in tx and returns the response object. It
	// may run more than once (see serveWrite), so it must not change what it
	// captured from the parsing step.
	writeFunc func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error)
)

// params are a request's decoded parameters.
type params struct {
	*form.Reader
	values form.Values
	expand []string
}

// decode reads the request's parameters and its expand[] list.
func (s *Server) decode(r *http.Request) (*params, error) {
	if err := checkRequestText(r); err != nil {
		return nil, err
	}
	values, err := form.Decode(r, s.maxBody)
	if err != nil {
		return nil, err
	}
	p := &params{Reader: form.NewReader(values), values: values}
	p.expand, _ = p.StringSlice("expand")
	if len(p.expand) > 20 {
		return nil, pay.InvalidParam("expand", "You may expand at most 20 fields at once.")
	}
	return p, nil
}

// checkRequestText applies the parameters' text rule (form.CheckText: valid
// UTF-8, no NUL) to what else a handler reads from the request: the
// wildcards of its route's path ({id}) and the headers it reads. A malformed
// Authorization header is a 401 like any other unusable key.
func checkRequestText(r *http.Request) error {
	for _, name := range wildcards(r.Pattern) {
		if err := form.CheckText(name, r.PathValue(name)); err != nil {
			return err
		}
	}
	for _, h := range []string{"Idempotency-Key", "Stripe-Version"} {
		if err := form.CheckText(h, r.Header.Get(h)); err != nil {
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

// handle adapts a function that returns an error to http.Handler: the error
// is answered in Stripe's envelope.
func (s *Server) handle(serve func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := serve(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// parse decodes a request's parameters and runs a handler's parsing step;
// parameters the handler did not read are refused.
func parse[F any](s *Server, r *http.Request, h func(*http.Request, *params) (F, error)) (*params, F, error) {
	var fn F
	p, err := s.decode(r)
	if err != nil {
		return nil, fn, err
	}
	fn, err = h(r, p)
	if err == nil {
		err = p.Err()
	}
	return p, fn, err
}

// read adapts a readHandler to http.Handler.
func (s *Server) read(h readHandler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.serveRead(w, r, h) })
}

func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, h readHandler) error {
	p, fn, err := parse(s, r, h)
	if err != nil {
		return err
	}
	ctx, scope := r.Context(), keyFrom(r.Context()).Scope()
	obj, err := fn(ctx, scope)
	if err != nil {
		return err
	}
	body, err := s.render(ctx, s.db, scope, obj, p.expand)
	if err != nil {
		return err
	}
	// Show nothing that a power loss could still undo (see store.AwaitDurable).
	if err := s.db.AwaitDurable(ctx); err != nil {
		return err
	}
	writeBody(w, http.StatusOK, body)
	return nil
}

// write adapts a writeHandler to http.Handler: it honours Idempotency-Key and
// runs the work, the rendering of its response and the storing of that
// response for replays in one transaction.
func (s *Server) write(h writeHandler) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.serveWrite(w, r, h) })
}

func (s *Server) serveWrite(w http.ResponseWriter, r *http.Request, h writeHandler) error {
	p, fn, err := parse(s, r, h)
	if err != nil {
		return err
	}
	return s.runWrite(w, r, p, fn)
}

// cardWrite is a write that may name a payment method. When it names a
// Stripe test payment-method ID (pm_card_visa), the test card is tokenised
// first, a gateway call that cannot be made inside a transaction, and fn
// gets the new payment method (not yet saved) as fresh.
type cardWrite struct {
	paymentMethod *string // the payment method named, or nil
	param         string  // the parameter naming it, if not payment_method
	fn            func(ctx context.Context, tx *store.Tx, scope pay.Scope, fresh *pay.PaymentMethod) (any, error)
}

// writeCard adapts a handler of a cardWrite. A request that names a Stripe
// test ID is staged: the card's VERIFY, then fn and the response in one
// transaction. Any other is a plain write.
func (s *Server) writeCard(typ string, h func(r *http.Request, p *params) (cardWrite, error)) http.Handler {
	return s.handle(func(w http.ResponseWriter, r *http.Request) error {
		p, cw, err := parse(s, r, h)
		if err != nil {
			return err
		}
		if cw.paymentMethod == nil || !payments.IsTestPaymentMethodID(*cw.paymentMethod) {
			return s.runWrite(w, r, p, func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error) {
				return cw.fn(ctx, tx, scope, nil)
			})
		}
		return s.runStaged(w, r, typ, p, func(ctx context.Context, st *stage) error {
			fresh, err := s.tokeniseTestID(ctx, st, cw.paymentMethod, cmp.Or(cw.param, "payment_method"))
			if err != nil {
				return err
			}
			return st.commit(ctx, func(tx *store.Tx) (any, error) { return cw.fn(ctx, tx, st.scope, fresh) })
		})
	})
}

// runWrite runs a parsed write (see write).
func (s *Server) runWrite(w http.ResponseWriter, r *http.Request, p *params, fn writeFunc) error {
	ctx, scope := r.Context(), keyFrom(r.Context()).Scope()
	claim, err := s.idempotencyClaim(w, r, p.values)
	if err != nil {
		return err
	}
	if claim != nil {
		ctx = pay.NewContextWithIdempotencyKey(ctx, claim.key.Key)
	}
	// The response is stored under the key in the request's own transaction:
	// one commit per request, the key's row written once, and a request that
	// fails leaves nothing behind. The first attempt assumes the key is new
	// (almost always true) and does not look it up: storing the response then
	// fails if it is not. Only after such a failure, or any other error, is
	// the request run again with the key looked up first, which replays or
	// refuses as the key's earlier use demands.
	var (
		body   []byte
		known  *store.IdemRecord // an earlier request's outcome for the key
		lookup bool
	)
	run := func(tx *store.Tx) error {
		rec := store.NewIdemRecord()
		if claim != nil && lookup {
			var err error
			rec, err = tx.LookupIdempotent(ctx, claim.key, claim.method, claim.path, claim.fingerprint)
			if err != nil || rec.Outcome != store.IdemStarted {
				known = rec
				return err
			}
		}
		obj, err := fn(ctx, tx, scope)
		if err != nil {
			return err
		}
		if body, err = s.render(ctx, tx, scope, obj, p.expand); err != nil {
			return err
		}
		if claim != nil {
			return tx.RecordIdempotent(ctx, rec, claim.key, claim.method, claim.path, claim.fingerprint, http.StatusOK, body)
		}
		return nil
	}
	err = s.db.Tx(ctx, run)
	if err != nil && claim != nil && !errors.Is(err, store.ErrOverloaded) && ctx.Err() == nil {
		// A concurrent request with the same key may store its response first
		// (PostgreSQL) and roll this one back once more.
		lookup = true
		for range 2 {
			if err = s.db.Tx(ctx, run); !errors.Is(err, store.ErrIdempotencyRace) {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	if known != nil {
		_, err := answerIdempotent(w, known)
		return err
	}
	writeBody(w, http.StatusOK, body)
	return nil
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"type":"api_error","message":"An unexpected error occurred."}}`)
	}
	writeBody(w, status, body)
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(body)
	w.Write([]byte{'\n'})
}

// errorBody is Stripe's error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type          string `json:"type"`
	Code          string `json:"code,omitempty"`
	DeclineCode   string `json:"decline_code,omitempty"`
	Param         string `json:"param,omitempty"`
	Message       string `json:"message"`
	PaymentIntent any    `json:"payment_intent,omitempty"`
}

func newErrorBody(e *pay.Error) errorBody {
	return errorBody{Error: errorDetail{Type: e.Type, Code: e.Code, DeclineCode: e.DeclineCode, Param: e.Param, Message: e.Message, PaymentIntent: e.PaymentIntent}}
}

// writeError answers with Stripe's error envelope. Errors a client may see
// (*pay.Error, *form.Error) keep their message; anything else is a 500 whose
// cause is logged with the request ID and never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.clientError(r, err)
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if e.ShouldRetry || e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Stripe-Should-Retry", "true")
	}
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, e.Status, newErrorBody(e))
}

func (s *Server) clientError(r *http.Request, err error) *pay.Error {
	if e, ok := pay.AsError(err); ok {
		return e
	}
	var fe *form.Error
	if errors.As(err, &fe) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, form.ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, form.ErrUnsupportedMediaType):
			status = http.StatusUnsupportedMediaType
		}
		return &pay.Error{Status: status, Type: pay.ErrorTypeInvalidRequest, Code: fe.Code, Param: fe.Param, Message: fe.Message}
	}
	if errors.Is(err, store.ErrOverloaded) {
		return &pay.Error{Status: http.StatusServiceUnavailable, Type: pay.ErrorTypeAPI, Code: "lock_timeout",
			Message: "The server is busy. Retry the request shortly."}
	}
	if errors.Is(err, context.Canceled) {
		return &pay.Error{Status: 499, Type: pay.ErrorTypeAPI, Message: "The request was canceled."}
	}
	return &pay.Error{Status: http.StatusInternalServerError, Type: pay.ErrorTypeAPI,
		Message: fmt.Sprintf("An unexpected error occurred. Request ID: %s", requestID(r))}
}

func routeNotFound(r *http.Request) *pay.Error {
	return &pay.Error{Status: http.StatusNotFound, Type: pay.ErrorTypeInvalidRequest,
		Message: fmt.Sprintf("Unrecognized request URL (%s: %s).", r.Method, pay.Clip(r.URL.Path, 200))}
}
