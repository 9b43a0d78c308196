// Package sandbox is an in-memory imitation of Cardstream's test gateway:
// the Direct API, the Hosted Payment Page (with a card form a person can
// use), a 3-D Secure test ACS, the published test amounts, cards and
// 3-D Secure outcomes, duplicate checking, xref cloning and the transaction
// life cycle including settlement. It signs every response and callback
// with the merchant's secret, and answers malformed requests with the
// gateway's own response codes.
//
// A *Sandbox is an http.Handler serving these routes (relative to where it
// is mounted; it works under http.StripPrefix):
//
//	GET  /                 a short JSON description of the sandbox
//	POST direct/           Direct API
//	POST hosted/           Hosted Payment Page (also hosted/modal/)
//	POST hosted/submit     the card form's Pay and Cancel buttons
//	POST acs/              the 3-D Secure test ACS (challenge page)
//	POST acs/method        the test ACS's method page (device fingerprint)
//	POST sandbox/settle    test hook: settle xref=… (or everything)
//
// Anyone can sign requests for the published test accounts, so nothing a
// link can reach starts a payment or sends a browser on, its pages refuse
// to be framed, its open sessions and challenges are bounded per client (the test ACS's method page, which shows nothing, may be framed, as method pages are),
// and its callbacks follow no redirects. It is safe for concurrent use.
// State lives in memory only.
package sandbox

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
)

// defaultMaxTransactions is the default Options.MaxTransactions: about
// 6.5 MB of transactions, which keeps a server with the in-process sandbox
// within its memory budget under load (the collector lets the heap grow to
// a multiple of what is live: three times with serve's GOGC=200). At 20,000
// a 36-second payment.flow benchmark peaked at 98 MB of RSS.
const defaultMaxTransactions = 10000

// defaultMaxOpenPerClient is the default Options.MaxOpenPerClient: far more
// card forms than one shopper (or one developer's test run) keeps open.
const defaultMaxOpenPerClient = 32

// Published test accounts (§11.1). 100856 is the 3-D Secure test account;
// its secret is disputed in the sources, so both are accepted.
const (
	ThreeDSMerchantID = "100856"
	threeDSAltSecret  = "Threeds2Test60System"
)

// Options configures a Sandbox. Zero values mean the documented defaults.
type Options struct {
	// Merchants adds (or overrides) merchant accounts: ID → signing secret.
	// The published test accounts 100001 and 100856 are always known.
	Merchants map[string]string
	// Clock returns the current time. Defaults to time.Now.
	Clock func() time.Time
	// Logger receives one record per request (never card data). Defaults
	// to a discarding logger.
	Logger *slog.Logger
	// Rand is the source of xrefs, session IDs and nonces. Defaults to
	// crypto/rand. The sandbox serialises its reads.
	Rand io.Reader
	// SettleAfter, when positive, settles a captured transaction once that
	// long has passed on Clock since its capture. Zero settles only through
	// Settle, SettleAll or the settle endpoint.
	SettleAfter time.Duration
	// CallbackClient posts hosted callbacks. Defaults to a plain client.
	// Redirects are never followed, whatever its CheckRedirect says.
	CallbackClient *http.Client
	// CallbackTimeout bounds each callback POST. Defaults to 10s.
	CallbackTimeout time.Duration
	// CallbackAllowFunc, when set, vets every callbackURL before the
	// server-to-server POST; a refused URL is logged and skipped (the
	// browser redirect still happens). Anyone can sign requests for the
	// published test accounts, so a sandbox reachable from the internet
	// should allow only its own callback endpoints here (SSRF).
	CallbackAllowFunc func(*url.URL) bool
	// MaxTransactions caps stored transactions, their duplicate-detection
	// keys, open hosted sessions and open 3-D Secure challenges. Beyond it
	// the least recently used transaction is forgotten (a request naming an
	// xref is a use, so a card token that keeps being charged stays known),
	// and the oldest duplicate key, session or challenge. A stored
	// transaction takes about 650 bytes. Defaults to 10000.
	MaxTransactions int
	// MaxOpenPerClient caps the hosted sessions, and the challenges, one
	// client has open: a new one beyond it replaces that client's oldest.
	// Defaults to 32.
	MaxOpenPerClient int
	// Client identifies the client of a request for MaxOpenPerClient.
	// Defaults to the host of its RemoteAddr.
	Client func(*http.Request) string
	// BaseURL is the absolute URL browsers reach the sandbox at, used for
	// threeDSURL. Defaults to one derived from each request.
	BaseURL string
	// StandIn, when set, lets the hosted page take card numbers other than
	// the published test cards: for a number it knows it returns the
	// published card charged in its place (which must be one) and whether
	// the card declines. The payment is then made with the stand-in, its
	// published CVV, an expiry of January two years on and no address,
	// declined (05, CARD DECLINED) if decline, and the response masks the
	// number typed. Calmony Pay sets it to payments.HostedStandIn, so a
	// shopper can type Stripe's test cards on the sandbox's page.
	StandIn func(number string) (standIn string, decline, ok bool)
	// StandInChallenge, when set, names the numbers StandIn knows whose
	// payment on the hosted page is challenged: the stand-in is charged with
	// an expiry of December (§11.4: a challenge) instead of January, and the
	// page shows the test ACS before it returns to the merchant. Calmony Pay
	// sets it to payments.HostedStandInChallenge (Stripe's 3-D Secure test
	// cards).
	StandInChallenge func(number string) bool
}

// merchant is one known account.
type merchant struct {
	id string
	// secrets are tried in order; the first signs unsigned-request errors.
	secrets []string
	// threeDS makes 3-D Secure mandatory for ECOM requests.
	threeDS bool
}

// Sandbox is the test gateway. Create it with New.
type Sandbox struct {
	opts      Options
	merchants map[string]*merchant
	mux       *http.ServeMux
	pageMux   *http.ServeMux // mux without the Direct API (Pages)
	pages     *template.Template
	st        *store
	randMu    sync.Mutex
}

// New returns a Sandbox. It fails if a merchant in opts has an empty ID or
// secret, or the page templates do not parse.
func New(opts Options) (*Sandbox, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	callbacks := http.Client{}
	if opts.CallbackClient != nil {
		callbacks = *opts.CallbackClient
	}
	// A callback answered with a redirect is not sent on: the sandbox posts
	// only where the signed request said, and CallbackAllowFunc vetted.
	callbacks.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.CallbackClient = &callbacks
	if opts.Client == nil {
		opts.Client = remoteHost
	}
	opts.CallbackTimeout = cmp.Or(opts.CallbackTimeout, 10*time.Second)
	opts.MaxTransactions = cmp.Or(opts.MaxTransactions, defaultMaxTransactions)
	opts.MaxOpenPerClient = cmp.Or(opts.MaxOpenPerClient, defaultMaxOpenPerClient)
	if opts.BaseURL != "" { // with its '/' added once, not on every request
		opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/") + "/"
	}
	merchants, err := buildMerchants(opts.Merchants)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Sandbox{opts: opts, merchants: merchants, pages: pages,
		st: newStore(opts.MaxTransactions, opts.MaxOpenPerClient, opts.SettleAfter)}
	s.mux, s.pageMux = s.routes(true), s.routes(false)
	return s, nil
}

func buildMerchants(extra map[string]string) (map[string]*merchant, error) {
	m := map[string]*merchant{
		cardstream.TestMerchantID: {id: cardstream.TestMerchantID, secrets: []string{cardstream.TestSecret}},
		ThreeDSMerchantID: {id: ThreeDSMerchantID, threeDS: true,
			secrets: []string{cardstream.TestSecret, threeDSAltSecret}},
	}
	for id, secret := range extra {
		if err := validMerchant(id, secret); err != nil {
			return nil, err
		}
		m[id] = &merchant{id: id, secrets: []string{secret}, threeDS: id == ThreeDSMerchantID}
	}
	return m, nil
}

func validMerchant(id, secret string) error {
	if id == "" || strings.Trim(id, "0123456789") != "" {
		return fmt.Errorf("sandbox: merchant ID %q must be numeric", id)
	}
	if secret == "" {
		return fmt.Errorf("sandbox: merchant %s needs a signing secret", id)
	}
	return nil
}

// ParseMerchantFlag parses a "--merchant ID:SECRET" command-line value.
// The secret may itself contain ':'.
func ParseMerchantFlag(v string) (id, secret string, err error) {
	id, secret, ok := strings.Cut(v, ":")
	if !ok {
		return "", "", errors.New("sandbox: merchant flag must look like ID:SECRET")
	}
	if err := validMerchant(id, secret); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// MerchantFlags collects repeated --merchant ID:SECRET flags; it
// implements flag.Value. Its String never shows secrets.
type MerchantFlags map[string]string

// Set implements flag.Value.
func (m MerchantFlags) Set(v string) error {
	id, secret, err := ParseMerchantFlag(v)
	if err != nil {
		return err
	}
	m[id] = secret
	return nil
}

// String implements flag.Value, listing merchant IDs only.
func (m MerchantFlags) String() string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id+":[REDACTED]")
	}
	return strings.Join(ids, ",")
}

// routes are the sandbox's routes; without direct, those of its pages only
// (the hosted page, the ACS, settlement), for browsers.
func (s *Sandbox) routes(direct bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { s.handleIndex(w, r, direct) })
	if direct {
		mux.HandleFunc("POST /direct/{$}", s.handleDirect)
	}
	for _, p := range []string{"/hosted/", "/hosted/modal/"} {
		mux.HandleFunc("POST "+p+"{$}", s.handleHosted)
		mux.HandleFunc("POST "+p+"submit", s.handleSubmit)
		mux.HandleFunc("POST "+p+"3ds", s.handleHostedThreeDS)
	}
	mux.HandleFunc("POST /acs/{$}", s.handleACS)
	mux.HandleFunc("POST /acs/method", s.handleACSMethod)
	mux.HandleFunc("POST /sandbox/settle", s.handleSettle)
	return mux
}

// ServeHTTP implements http.Handler. A path without its leading slash (as
// left by http.StripPrefix with a trailing-slash prefix) is accepted.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.serve(s.mux, w, r) }

// Pages serves the sandbox's pages without its Direct API: for a listener
// that browsers reach, where the Direct API would let anyone who signs for
// the public test account fill the transaction store.
func (s *Sandbox) Pages() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.serve(s.pageMux, w, r) })
}

func (s *Sandbox) serve(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + r.URL.Path
		r2.URL.RawPath = ""
		r = r2
	}
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.ErrorContext(r.Context(), "sandbox panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
			http.Error(w, "sandbox internal error", http.StatusInternalServerError)
		}
	}()
	mux.ServeHTTP(w, r)
}

// remoteHost is the default Options.Client: the address a request came
// from, without its port.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// handleIndex describes the sandbox at its root, so the URL serve prints
// answers.
func (s *Sandbox) handleIndex(w http.ResponseWriter, r *http.Request, direct bool) {
	base := baseURL(r, s.opts.BaseURL)
	index := map[string]any{
		"object": "cardstream_sandbox",
		"description": "An in-memory imitation of Cardstream's test gateway: no real money moves. " +
			"Sign requests with a test merchant's secret (100001: Circle4Take40Idea).",
		"hosted": base + "hosted/", "settle": base + "sandbox/settle",
		"merchants": slices.Sorted(maps.Keys(s.merchants)),
	}
	if direct {
		index["direct"] = base + "direct/"
	}
	body, _ := json.Marshal(index)
	setHeaders(w, "application/json", apiCSP)
	_, _ = w.Write(append(body, '\n'))
}

// now returns the injected clock's time.
func (s *Sandbox) now() time.Time { return s.opts.Clock() }

// token returns n random bytes as lowercase hex.
func (s *Sandbox) token(n int) string {
	return hex.EncodeToString(s.randomBytes(n))
}

// randomBytes returns n bytes from the random source.
func (s *Sandbox) randomBytes(n int) []byte {
	b := make([]byte, n)
	s.randMu.Lock()
	_, err := io.ReadFull(s.opts.Rand, b)
	s.randMu.Unlock()
	if err != nil {
		// A failing random source is a broken environment, not a request
		// error; the sandbox must not hand out predictable tokens.
		panic(fmt.Sprintf("sandbox: random source failed: %v", err))
	}
	return b
}
