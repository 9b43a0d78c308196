package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/calmony/calmonypay/internal/form"
	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/payments"
	"github.com/calmony/calmonypay/internal/store"
)

// A route handler parses and validates the request, then returns the work to
// do. Parsing first means bad input is refused before any idempotency key is
// claimed or any transaction is opened.
type (
	readHandler func(r *http.Request, p *params) (readFunc, error)
	opHandler   func(r *http.Request, p *params) (opFunc, error)
	// readFunc reads the response object through the read pool.
	readFunc func(ctx context.Context, scope pay.Scope) (any, error)
	// opFunc runs a write: a payments operation, which keeps its answer
	// under the call's idempotency key.
	opFunc func(ctx context.Context, call payments.Call) (*payments.Answer, error)
	// writeFunc does a write of the API's own (webhook endpoint settings)
	// in tx and returns the response object. It may run more than once
	// (see payments.Service.Write), so it must not change what it captured
	// from the parsing step.
	writeFunc func(ctx context.Context, tx *store.Tx, scope pay.Scope) (any, error)
)

// params are a request's decoded parameters.
type params struct {
	*form.Reader
	values form.Values
	expand []string
	// stagedAs, if set, is the type of the object a write that calls the
	// gateway answers: its expand[] paths are checked before the write
	// starts, since after the gateway call they could only fail a payment
	// that has been made.
	stagedAs string
}

// stageIf marks the request as a write that calls the gateway, answering an
// object of type typ, when pmID names a Stripe test payment method, which
// is tokenised first.
func (p *params) stageIf(typ string, pmID *string) {
	if pmID != nil && payments.IsTestPaymentMethodID(*pmID) {
		p.stagedAs = typ
	}
}

// decode reads the request's parameters and its expand[] list.
func (s *Server) decode(r *http.Request) (*params, error) {
	if err := form.CheckRequestText(r); err != nil {
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

// retrieve is the handler of a GET of one object by the {id} in its path:
// find reads it through the read pool, and one that is not there (in the
// key's project and mode) is resource_missing, naming it what.
func retrieve[T any](find func(ctx context.Context, scope pay.Scope, id string) (T, error), what string) readHandler {
	return func(r *http.Request, p *params) (readFunc, error) {
		id := r.PathValue("id")
		return func(ctx context.Context, scope pay.Scope) (any, error) {
			obj, err := find(ctx, scope, id)
			if err != nil {
				return nil, pay.NotFoundAs(err, what, id, "id")
			}
			return obj, nil
		}, nil
	}
}

// endpoint is a /v1 route's handler. Its parsing step is kept beside it so
// that the API reference's test can ask which parameters the route reads
// (see apidocs_test.go).
type endpoint struct {
	http.Handler
	// parse decodes a request and runs the route's parsing step only: no
	// key is claimed and nothing is read or written. It answers the
	// parameters (nil when the body could not be decoded) and the first
	// error the step recorded.
	parse func(r *http.Request) (*params, error)
}

// parseOnly is an endpoint's parse for handler h.
func parseOnly[F any](s *Server, h func(*http.Request, *params) (F, error)) func(r *http.Request) (*params, error) {
	return func(r *http.Request) (*params, error) {
		p, _, err := parse(s, r, h)
		return p, err
	}
}

// read adapts a readHandler to an endpoint.
func (s *Server) read(h readHandler) endpoint {
	return endpoint{
		Handler: s.handle(func(w http.ResponseWriter, r *http.Request) error { return s.serveRead(w, r, h) }),
		parse:   parseOnly(s, h),
	}
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
	body, err := render(ctx, s.db, scope, obj, p.expand, s.publicURL)
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

// op adapts an opHandler to an endpoint.
func (s *Server) op(h opHandler) endpoint {
	return endpoint{
		Handler: s.handle(func(w http.ResponseWriter, r *http.Request) error {
			p, fn, err := parse(s, r, h)
			if err != nil {
				return err
			}
			return s.runOp(w, r, p, fn)
		}),
		parse: parseOnly(s, h),
	}
}

// staged adapts an opHandler of a write that calls the gateway and answers
// an object of type typ to an endpoint.
func (s *Server) staged(typ string, h opHandler) endpoint {
	return s.op(func(r *http.Request, p *params) (opFunc, error) {
		p.stagedAs = typ
		return h(r, p)
	})
}

// write adapts a handler of a write of the API's own to http.Handler: it
// runs as a payments.Service.Write, with the Idempotency-Key honoured.
func (s *Server) write(h func(r *http.Request, p *params) (writeFunc, error)) endpoint {
	return s.op(func(r *http.Request, p *params) (opFunc, error) {
		fn, err := h(r, p)
		return func(ctx context.Context, call payments.Call) (*payments.Answer, error) {
			return s.payments.Write(ctx, call, func(ctx context.Context, tx *store.Tx) (any, error) { return fn(ctx, tx, call.Scope) })
		}, err
	})
}

// runOp runs a parsed write as the request's key's call and answers with
// what it answered.
func (s *Server) runOp(w http.ResponseWriter, r *http.Request, p *params, fn opFunc) error {
	if p.stagedAs != "" {
		if err := checkExpand(p.stagedAs, p.expand); err != nil {
			return err
		}
	}
	key, err := s.idempotencyKey(w, r, p.values)
	if err != nil {
		return err
	}
	a, err := fn(r.Context(), payments.Call{Scope: keyFrom(r.Context()).Scope(), Key: key, Expand: p.expand})
	if errors.Is(err, payments.ErrCrashed) {
		panic(http.ErrAbortHandler) // the client sees the connection drop, as in a crash
	}
	if err != nil {
		return err
	}
	if a.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeBody(w, a.Status, a.Body)
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

// writeError answers with Stripe's error envelope. Errors a client may see
// (*pay.Error, *form.Error) keep their message; anything else is a 500 whose
// cause is logged with the request ID and never shown.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.clientError(r, err)
	switch {
	case e.Code == "idempotency_key_in_use":
		middleware.NoteIdempotency(r.Context(), "in_use")
	case e.Type == pay.ErrorTypeIdempotency:
		middleware.NoteIdempotency(r.Context(), "mismatch")
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	if e.ShouldRetry || e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Stripe-Should-Retry", "true")
	}
	if e.Status >= 500 && e.Status != http.StatusServiceUnavailable {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r), "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, e.Status, pay.ErrorEnvelope(e))
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
