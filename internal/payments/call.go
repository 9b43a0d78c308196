package payments

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// Call says on whose behalf an operation runs and how its answer is kept.
// An HTTP request, a CLI command and a scheduler make the same calls.
type Call struct {
	Scope pay.Scope
	// Key, if not nil, is the request's idempotency key: the operation
	// claims it, and its answer is kept under it for replays. An operation
	// that calls the gateway binds the key to its gateway op, and whoever
	// records the op's outcome keeps the answer.
	Key *IdempotencyKey
	// Expand is the answer's expand[] list: kept with a gateway op, so that
	// whoever records its outcome renders the answer as the caller asked.
	Expand []string
}

// Plain is a call with no idempotency key, answered unexpanded.
func Plain(scope pay.Scope) Call { return Call{Scope: scope} }

// IdempotencyKey is a request's Idempotency-Key with what it must match
// on a retry: the method, the path and a keyed fingerprint of the
// parameters.
type IdempotencyKey struct {
	Key          store.IdemKey
	Method, Path string
	Fingerprint  string
}

// Answer is an operation's answer.
type Answer struct {
	// Object is the domain object answered (*pay.PaymentIntent,
	// *pay.Refund, …), as the operation left it; nil for a replay or an
	// error.
	Object any
	// Err is the error answered and kept under the key (a card decline,
	// whose writes are kept), if any.
	Err *pay.Error
	// Status and Body are the answer rendered (Config.Render), as kept
	// under the key.
	Status int
	Body   []byte
	// Replayed: the answer is an earlier request's with the same key.
	Replayed bool
}

// Finder is what rendering reads expanded objects through: the read pool,
// or an operation's own transaction (so that its answer shows its own
// changes). *store.DB and *store.Tx are Finders.
type Finder interface {
	FindCustomer(ctx context.Context, scope pay.Scope, id string) (*pay.Customer, error)
	FindPaymentMethod(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentMethod, error)
	FindPaymentIntent(ctx context.Context, scope pay.Scope, id string) (*pay.PaymentIntent, error)
	FindCharge(ctx context.Context, scope pay.Scope, id string) (*pay.Charge, error)
	FindRefund(ctx context.Context, scope pay.Scope, id string) (*pay.Refund, error)
	FindTestClock(ctx context.Context, scope pay.Scope, id string) (*pay.TestClock, error)
	FindProduct(ctx context.Context, scope pay.Scope, id string) (*pay.Product, error)
	FindPrice(ctx context.Context, scope pay.Scope, id string) (*pay.Price, error)
	FindInvoice(ctx context.Context, scope pay.Scope, id string) (*pay.Invoice, error)
	FindPortalConfiguration(ctx context.Context, scope pay.Scope, id string) (*pay.PortalConfiguration, error)
}

// Render renders an answer: obj, a domain object, or the *pay.Error err,
// with the paths of expand expanded through f; it returns the status to
// answer with and the body. Any other error fails the operation's
// transaction.
type Render func(ctx context.Context, f Finder, scope pay.Scope, obj any, err error, expand []string) (status int, body []byte, _ error)

// RenderJSON renders an answer as its Stripe object's JSON, unexpanded, and
// an error as Stripe's error envelope.
func RenderJSON(publicURL string) Render {
	return func(ctx context.Context, f Finder, scope pay.Scope, obj any, err error, expand []string) (int, []byte, error) {
		if e, ok := pay.AsError(err); ok {
			body, err := json.Marshal(pay.ErrorEnvelope(e))
			return e.Status, body, err
		}
		if err != nil {
			return 0, nil, err
		}
		body, err := json.Marshal(pay.View(obj, publicURL))
		return http.StatusOK, body, err
	}
}
