package api_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripe/stripe-go/v85"

	"github.com/calmony/calmonypay/internal/apitest"
)

// TestSDKCustomers drives /v1/customers with the official stripe-go SDK at
// the version the project pins (v85.0.0), pointed at a real server, once on
// SQLite and once on PostgreSQL (skipped unless CALMONY_TEST_POSTGRES_URL is
// set). It checks that what the SDK sends is accepted and that what the
// server answers decodes into the SDK's types and error classes.
func TestSDKCustomers(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		opts apitest.Options
	}{
		{"sqlite", apitest.Options{}},
		{"postgres", apitest.Options{Postgres: true}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			srv := apitest.Start(t, backend.opts)
			for _, tc := range []struct {
				name string
				run  func(*testing.T, *apitest.Server)
			}{
				{"CreateRetrieve", testSDKCreateRetrieve},
				{"Update", testSDKUpdate},
				{"ListAutoPagination", testSDKListAutoPagination},
				{"ListByEmail", testSDKListByEmail},
				{"Delete", testSDKDelete},
				{"BadKey", testSDKBadKey},
				{"ResourceMissing", testSDKResourceMissing},
				{"UnknownParameter", testSDKUnknownParameter},
				{"Idempotency", testSDKIdempotency},
				{"OtherProjectAndMode", testSDKIsolation},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, srv)
				})
			}
		})
	}
}

// sdkClient returns a stripe-go client for the server at baseURL. Network
// retries are off so that each call shows the server's first answer.
func sdkClient(baseURL, key string) *stripe.Client {
	return stripe.NewClient(key, stripe.WithBackends(sdkBackends(baseURL, 0, nil)))
}

// sdkBackends configures the SDK as a user pointing it at Calmony Pay would;
// rt, if not nil, carries every request.
func sdkBackends(baseURL string, retries int64, rt http.RoundTripper) *stripe.Backends {
	cfg := &stripe.BackendConfig{
		URL:               stripe.String(baseURL),
		MaxNetworkRetries: stripe.Int64(retries),
		// Silent: most calls here expect errors, which the SDK would log as
		// such; failures below report the message and request ID themselves.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if rt != nil {
		cfg.HTTPClient = &http.Client{Transport: rt, Timeout: 30 * time.Second}
	}
	return stripe.NewBackendsWithConfig(cfg)
}

// sdkUnique returns a short random lower-case string, to keep the data of
// parallel tests sharing one project apart.
func sdkUnique() string { return strings.ToLower(rand.Text()[:12]) }

// sdkCustomer is the part of a customer these tests compare.
type sdkCustomer struct {
	ID          string
	Object      string
	Created     int64
	Livemode    bool
	Deleted     bool
	Email       string
	Name        string
	Phone       string
	Description string
	Address     *stripe.Address
	Metadata    map[string]string
}

func sdkView(c *stripe.Customer) sdkCustomer {
	return sdkCustomer{
		ID: c.ID, Object: c.Object, Created: c.Created, Livemode: c.Livemode, Deleted: c.Deleted,
		Email: c.Email, Name: c.Name, Phone: c.Phone, Description: c.Description,
		Address: c.Address, Metadata: c.Metadata,
	}
}

// sdkEquateEmpty treats a nil and an empty metadata map alike.
var sdkEquateEmpty = cmpopts.EquateEmpty()

// sdkWant is the part of a *stripe.Error a test expects.
type sdkWant struct {
	Status int
	Type   stripe.ErrorType
	Code   stripe.ErrorCode
	Param  string
}

// sdkCheckError fails the test unless err is a *stripe.Error matching want,
// carrying a message and the server's request ID, and returns it.
func sdkCheckError(t *testing.T, what string, err error, want sdkWant) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("%s: err = %v (%T), want a *stripe.Error %+v", what, err, err, want)
	}
	got := sdkWant{Status: se.HTTPStatusCode, Type: se.Type, Code: se.Code, Param: se.Param}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("%s: error mismatch (-want +got):\n%s(message %q, request %s)", what, diff, se.Msg, se.RequestID)
	}
	if se.Msg == "" {
		t.Errorf("%s: error has no message", what)
	}
	if !strings.HasPrefix(se.RequestID, "req_") {
		t.Errorf("%s: error RequestID = %q, want the server's req_… Request-Id header", what, se.RequestID)
	}
	return se
}

// sdkCheckClass fails the test unless err wraps the typed error stripe-go
// derives from the error's type.
func sdkCheckClass[E error](t *testing.T, what string, err error) {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		var se *stripe.Error
		errors.As(err, &se)
		var inner error
		if se != nil {
			inner = se.Err
		}
		t.Errorf("%s: err.Err is %T, want %T (err: %v)", what, inner, target, err)
	}
}

// sdkListIDs walks a list with the SDK's auto-pagination.
func sdkListIDs(ctx context.Context, l *stripe.V1List[*stripe.Customer]) ([]string, error) {
	var ids []string
	for c, err := range l.All(ctx) {
		if err != nil {
			return ids, err
		}
		ids = append(ids, c.ID)
	}
	return ids, nil
}

func sdkFullCreateParams(email string) *stripe.CustomerCreateParams {
	p := &stripe.CustomerCreateParams{
		Email:       stripe.String(email),
		Name:        stripe.String("Ada Lovelace"),
		Phone:       stripe.String("+44 20 7946 0000"),
		Description: stripe.String("Analytical engine & co. (test)"),
		Address: &stripe.AddressParams{
			Line1:      stripe.String("12 St James's Square"),
			Line2:      stripe.String("Flat 3"),
			City:       stripe.String("London"),
			State:      stripe.String("Greater London"),
			PostalCode: stripe.String("SW1Y 4JH"),
			Country:    stripe.String("GB"),
		},
	}
	p.AddMetadata("order_id", "6735")
	p.AddMetadata("tier", "gold plus")
	return p
}

func testSDKCreateRetrieve(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	email := "ada+" + sdkUnique() + "@example.com"

	before := time.Now().Unix()
	created, err := sc.V1Customers.Create(ctx, sdkFullCreateParams(email))
	after := time.Now().Unix()
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !strings.HasPrefix(created.ID, "cus_") {
		t.Errorf("Create: ID = %q, want a cus_ prefix", created.ID)
	}
	if created.Created < before-1 || created.Created > after+1 {
		t.Errorf("Create: Created = %d, want a Unix time in [%d, %d]", created.Created, before, after)
	}
	if rid := created.LastResponse.RequestID; !strings.HasPrefix(rid, "req_") {
		t.Errorf("Create: LastResponse.RequestID = %q, want req_…", rid)
	}
	want := sdkCustomer{
		ID: created.ID, Object: "customer", Created: created.Created, Livemode: false,
		Email: email, Name: "Ada Lovelace", Phone: "+44 20 7946 0000", Description: "Analytical engine & co. (test)",
		Address: &stripe.Address{Line1: "12 St James's Square", Line2: "Flat 3", City: "London", State: "Greater London",
			PostalCode: "SW1Y 4JH", Country: "GB"},
		Metadata: map[string]string{"order_id": "6735", "tier": "gold plus"},
	}
	if diff := gocmp.Diff(want, sdkView(created)); diff != "" {
		t.Errorf("Create returned (-want +got):\n%s", diff)
	}

	got, err := sc.V1Customers.Retrieve(ctx, created.ID, nil)
	if err != nil {
		t.Fatalf("Retrieve(%s): %v", created.ID, err)
	}
	if diff := gocmp.Diff(want, sdkView(got)); diff != "" {
		t.Errorf("Retrieve(%s) (-want +got):\n%s", created.ID, diff)
	}
	if got.InvoiceSettings == nil {
		t.Errorf("Retrieve(%s): InvoiceSettings is nil, want an object", created.ID)
	}
}

func testSDKUpdate(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	email := "update+" + sdkUnique() + "@example.com"
	c, err := sc.V1Customers.Create(ctx, sdkFullCreateParams(email))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}

	// The SDK's two ways of unsetting: a pointer to "" for plain strings
	// ("description=", "phone="), AddUnsetField for the others
	// ("address="), and "" for a metadata key ("metadata[tier]=").
	p := &stripe.CustomerUpdateParams{
		Name:        stripe.String("Augusta Ada King"),
		Description: stripe.String(""),
		Phone:       stripe.String(""),
	}
	p.AddUnsetField(stripe.CustomerUpdateParamsUnsetFieldAddress)
	p.AddMetadata("tier", "")
	p.AddMetadata("source", "sdk test")
	updated, err := sc.V1Customers.Update(ctx, c.ID, p)
	if err != nil {
		t.Fatalf("Update(%s): %v", c.ID, err)
	}
	want := sdkView(c)
	want.Name, want.Description, want.Phone, want.Address = "Augusta Ada King", "", "", nil
	want.Metadata = map[string]string{"order_id": "6735", "source": "sdk test"}
	if diff := gocmp.Diff(want, sdkView(updated)); diff != "" {
		t.Errorf("Update(%s) returned (-want +got):\n%s", c.ID, diff)
	}
	got, err := sc.V1Customers.Retrieve(ctx, c.ID, nil)
	if err != nil {
		t.Fatalf("Retrieve(%s): %v", c.ID, err)
	}
	if diff := gocmp.Diff(want, sdkView(got)); diff != "" {
		t.Errorf("Retrieve(%s) after Update (-want +got):\n%s", c.ID, diff)
	}

	// "metadata=" removes every key; an update sending nothing else leaves
	// the other fields alone.
	p = &stripe.CustomerUpdateParams{}
	p.AddUnsetField(stripe.CustomerUpdateParamsUnsetFieldMetadata)
	cleared, err := sc.V1Customers.Update(ctx, c.ID, p)
	if err != nil {
		t.Fatalf("Update(%s) unsetting metadata: %v", c.ID, err)
	}
	want.Metadata = nil
	if diff := gocmp.Diff(want, sdkView(cleared), sdkEquateEmpty); diff != "" {
		t.Errorf("Update(%s) unsetting metadata returned (-want +got):\n%s", c.ID, diff)
	}
}

// sdkRecorder is an http.RoundTripper that records the requests the SDK
// sends and can lose the response to the first POST after the server
// handled it, as a dropped connection would.
type sdkRecorder struct {
	loseFirstPOST bool

	mu   sync.Mutex
	lost bool
	reqs []sdkRequest
}

type sdkRequest struct {
	Method, Path   string
	Query          url.Values
	IdempotencyKey string
}

func (r *sdkRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	r.mu.Lock()
	r.reqs = append(r.reqs, sdkRequest{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), IdempotencyKey: req.Header.Get("Idempotency-Key")})
	lose := err == nil && r.loseFirstPOST && !r.lost && req.Method == http.MethodPost
	if lose {
		r.lost = true
	}
	r.mu.Unlock()
	if lose {
		resp.Body.Close()
		return nil, errors.New("sdk test: response lost in transit")
	}
	return resp, err
}

func (r *sdkRecorder) requests() []sdkRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func testSDKListAutoPagination(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	// A project of its own, so the customers of parallel tests do not show.
	_, key := apitest.NewProject(t, srv.DB)
	sc := sdkClient(srv.URL, key)
	const n, limit = 7, 3 // three pages: 3, 3, 1
	var made []*stripe.Customer
	for i := range n {
		c, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("Page " + string(rune('A'+i)))})
		if err != nil {
			t.Fatalf("Create #%d: %v", i, err)
		}
		made = append(made, c)
	}

	rec := &sdkRecorder{}
	paged := stripe.NewClient(key, stripe.WithBackends(sdkBackends(srv.URL, 0, rec)))
	var forward []*stripe.Customer
	for c, err := range paged.V1Customers.List(ctx, &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(limit)}}).All(ctx) {
		if err != nil {
			t.Fatalf("List(limit=%d).All after %d customers: %v", limit, len(forward), err)
		}
		forward = append(forward, c)
	}
	ids := func(cs []*stripe.Customer) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.ID
		}
		return out
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	if diff := gocmp.Diff(sorted(ids(made)), sorted(ids(forward))); diff != "" {
		t.Fatalf("List.All did not yield each created customer exactly once (-created +listed):\n%s", diff)
	}
	if !slices.IsSortedFunc(forward, func(a, b *stripe.Customer) int { return cmp.Compare(b.Created, a.Created) }) {
		t.Errorf("List.All is not newest first: %v", ids(forward))
	}
	for _, c := range forward {
		if c.Object != "customer" || c.Name == "" {
			t.Errorf("listed customer %s decoded as Object %q Name %q, want a full customer", c.ID, c.Object, c.Name)
		}
	}

	// The SDK must have paged with starting_after = the last ID of the page before.
	var got []string
	for _, r := range rec.requests() {
		got = append(got, r.Method+" "+r.Path+"?"+r.Query.Encode())
	}
	want := []string{
		"GET /v1/customers?limit=3",
		"GET /v1/customers?limit=3&starting_after=" + forward[limit-1].ID,
		"GET /v1/customers?limit=3&starting_after=" + forward[2*limit-1].ID,
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("requests the SDK sent while paging (-want +got):\n%s", diff)
	}

	// Backwards from the oldest: stripe-go pages with ending_before and
	// yields oldest first, so it must see the same list reversed.
	oldest := forward[len(forward)-1].ID
	back, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{ListParams: stripe.ListParams{Limit: stripe.Int64(limit), EndingBefore: stripe.String(oldest)}}))
	if err != nil {
		t.Fatalf("List(ending_before=%s).All: %v", oldest, err)
	}
	wantBack := ids(forward[:len(forward)-1])
	slices.Reverse(wantBack)
	if diff := gocmp.Diff(wantBack, back); diff != "" {
		t.Errorf("List(ending_before=oldest).All (-want +got):\n%s", diff)
	}
}

func testSDKListByEmail(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	shared := "shared+" + sdkUnique() + "@example.com"
	var want []string
	for _, email := range []string{shared, "other+" + sdkUnique() + "@example.com", shared} {
		c, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String(email)})
		if err != nil {
			t.Fatalf("Create(%s): %v", email, err)
		}
		if email == shared {
			want = append(want, c.ID)
		}
	}
	for _, tc := range []struct {
		name, email string
		want        []string
	}{
		{"exact", shared, want},
		{"case-sensitive", strings.ToUpper(shared), nil},
		{"no match", "nobody+" + sdkUnique() + "@example.com", nil},
	} {
		// limit=1 makes the SDK page, so the filter must stay on every page.
		got, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String(tc.email), ListParams: stripe.ListParams{Limit: stripe.Int64(1)}}))
		if err != nil {
			t.Fatalf("%s: List(email=%s): %v", tc.name, tc.email, err)
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if diff := gocmp.Diff(tc.want, got, sdkEquateEmpty); diff != "" {
			t.Errorf("%s: List(email=%s) IDs (-want +got):\n%s", tc.name, tc.email, diff)
		}
	}
}

func testSDKDelete(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	email := "delete+" + sdkUnique() + "@example.com"
	c, err := sc.V1Customers.Create(ctx, sdkFullCreateParams(email))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	del, err := sc.V1Customers.Delete(ctx, c.ID, nil)
	if err != nil {
		t.Fatalf("Delete(%s): %v", c.ID, err)
	}
	want := sdkCustomer{ID: c.ID, Object: "customer", Deleted: true}
	if diff := gocmp.Diff(want, sdkView(del), sdkEquateEmpty); diff != "" {
		t.Errorf("Delete(%s) returned (-want +got):\n%s", c.ID, diff)
	}
	got, err := sc.V1Customers.Retrieve(ctx, c.ID, nil)
	if err != nil {
		t.Fatalf("Retrieve(%s) after Delete: %v", c.ID, err)
	}
	if diff := gocmp.Diff(want, sdkView(got), sdkEquateEmpty); diff != "" {
		t.Errorf("Retrieve(%s) after Delete (-want +got):\n%s", c.ID, diff)
	}

	missing := sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"}
	_, err = sc.V1Customers.Update(ctx, c.ID, &stripe.CustomerUpdateParams{Name: stripe.String("Ghost")})
	sdkCheckError(t, "Update after Delete", err, missing)
	sdkCheckClass[*stripe.InvalidRequestError](t, "Update after Delete", err)
	_, err = sc.V1Customers.Delete(ctx, c.ID, nil)
	sdkCheckError(t, "second Delete", err, missing)

	ids, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String(email)}))
	if err != nil {
		t.Fatalf("List(email) after Delete: %v", err)
	}
	if len(ids) != 0 {
		t.Errorf("List(email=%s) after Delete = %v, want no customers", email, ids)
	}
}

func testSDKBadKey(t *testing.T, srv *apitest.Server) {
	for _, tc := range []struct{ name, key string }{
		{"unknown test key", "sk_test_" + strings.Repeat("x", 24)},
		{"unknown live key", "sk_live_" + strings.Repeat("y", 24)},
		{"not a secret key", "pk_test_" + strings.Repeat("z", 24)},
		{"garbage", "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := sdkClient(srv.URL, tc.key)
			_, err := sc.V1Customers.Create(t.Context(), &stripe.CustomerCreateParams{Name: stripe.String("Mallory")})
			se := sdkCheckError(t, "Create with a bad key", err, sdkWant{Status: 401, Type: "authentication_error", Code: "api_key_invalid"})
			if strings.Contains(se.Msg, tc.key) {
				t.Errorf("the 401 message echoes the presented key: %q", se.Msg)
			}
			_, err = sc.V1Customers.Retrieve(t.Context(), "cus_"+strings.Repeat("0", 24), nil)
			sdkCheckError(t, "Retrieve with a bad key", err, sdkWant{Status: 401, Type: "authentication_error", Code: "api_key_invalid"})
		})
	}
}

func testSDKResourceMissing(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	const id = "cus_NoSuchCustomer0000000000"
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"Retrieve", func() error { _, err := sc.V1Customers.Retrieve(ctx, id, nil); return err }},
		{"Update", func() error {
			_, err := sc.V1Customers.Update(ctx, id, &stripe.CustomerUpdateParams{Name: stripe.String("x")})
			return err
		}},
		{"Delete", func() error { _, err := sc.V1Customers.Delete(ctx, id, nil); return err }},
	} {
		err := tc.call()
		se := sdkCheckError(t, tc.name, err, sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"})
		sdkCheckClass[*stripe.InvalidRequestError](t, tc.name, err)
		if !strings.Contains(se.Msg, id) {
			t.Errorf("%s: message %q does not name %s", tc.name, se.Msg, id)
		}
	}
}

func testSDKUnknownParameter(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	sc := sdkClient(srv.URL, srv.Key)
	c, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("Params")})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, tc := range []struct {
		name  string
		param string
		call  func() error
	}{
		{"Create", "bogus", func() error {
			p := &stripe.CustomerCreateParams{Name: stripe.String("x")}
			p.AddExtra("bogus", "1")
			_, err := sc.V1Customers.Create(ctx, p)
			return err
		}},
		{"Create nested", "address[lin1]", func() error {
			p := &stripe.CustomerCreateParams{Address: &stripe.AddressParams{City: stripe.String("Leeds")}}
			p.AddExtra("address[lin1]", "1 Typo Street")
			_, err := sc.V1Customers.Create(ctx, p)
			return err
		}},
		{"Update", "bogus", func() error {
			p := &stripe.CustomerUpdateParams{}
			p.AddExtra("bogus", "1")
			_, err := sc.V1Customers.Update(ctx, c.ID, p)
			return err
		}},
		{"Retrieve", "bogus", func() error {
			p := &stripe.CustomerRetrieveParams{}
			p.AddExtra("bogus", "1")
			_, err := sc.V1Customers.Retrieve(ctx, c.ID, p)
			return err
		}},
		{"List", "bogus", func() error {
			p := &stripe.CustomerListParams{}
			p.Filters.AddFilter("bogus", "", "1")
			_, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, p))
			return err
		}},
	} {
		err := tc.call()
		se := sdkCheckError(t, tc.name, err, sdkWant{Status: 400, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeParameterUnknown, Param: tc.param})
		sdkCheckClass[*stripe.InvalidRequestError](t, tc.name, err)
		if !strings.Contains(se.Msg, tc.param) {
			t.Errorf("%s: message %q does not name the parameter %s", tc.name, se.Msg, tc.param)
		}
	}
}

func testSDKIdempotency(t *testing.T, srv *apitest.Server) {
	sc := sdkClient(srv.URL, srv.Key)

	t.Run("explicit key replays", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		email := "idem+" + sdkUnique() + "@example.com"
		key := "sdk-test-" + sdkUnique()
		create := func() (*stripe.Customer, error) {
			p := sdkFullCreateParams(email)
			p.SetIdempotencyKey(key)
			return sc.V1Customers.Create(ctx, p)
		}
		first, err := create()
		if err != nil {
			t.Fatalf("first Create with Idempotency-Key %s: %v", key, err)
		}
		second, err := create()
		if err != nil {
			t.Fatalf("second Create with Idempotency-Key %s: %v", key, err)
		}
		if first.ID != second.ID {
			t.Errorf("two Creates with one Idempotency-Key made %s and %s, want the same customer", first.ID, second.ID)
		}
		if diff := gocmp.Diff(sdkView(first), sdkView(second)); diff != "" {
			t.Errorf("replayed customer differs (-first +second):\n%s", diff)
		}
		if h := first.LastResponse.Header.Get("Idempotent-Replayed"); h != "" {
			t.Errorf("first response: Idempotent-Replayed = %q, want no header", h)
		}
		if h := second.LastResponse.Header.Get("Idempotent-Replayed"); h != "true" {
			t.Errorf("second response: Idempotent-Replayed = %q, want \"true\"", h)
		}
		for i, c := range []*stripe.Customer{first, second} {
			if got := c.LastResponse.IdempotencyKey; got != key {
				t.Errorf("response %d: echoed Idempotency-Key = %q, want %q", i+1, got, key)
			}
		}
		ids, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String(email)}))
		if err != nil {
			t.Fatalf("List(email): %v", err)
		}
		if len(ids) != 1 {
			t.Errorf("customers with the replayed email = %v, want exactly one", ids)
		}
	})

	t.Run("same key different params", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		key := "sdk-test-" + sdkUnique()
		p := &stripe.CustomerCreateParams{Email: stripe.String("first+" + sdkUnique() + "@example.com")}
		p.SetIdempotencyKey(key)
		if _, err := sc.V1Customers.Create(ctx, p); err != nil {
			t.Fatalf("first Create: %v", err)
		}
		p = &stripe.CustomerCreateParams{Email: stripe.String("second+" + sdkUnique() + "@example.com")}
		p.SetIdempotencyKey(key)
		_, err := sc.V1Customers.Create(ctx, p)
		sdkCheckError(t, "Create reusing a key with other params", err, sdkWant{Status: 400, Type: stripe.ErrorTypeIdempotency})
		sdkCheckClass[*stripe.IdempotencyError](t, "Create reusing a key with other params", err)
	})

	t.Run("automatic keys", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		// Without an explicit key stripe-go makes a fresh one per call: two
		// identical creates are two customers, and the server echoes the key.
		email := "auto+" + sdkUnique() + "@example.com"
		var seen []*stripe.Customer
		for range 2 {
			c, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String(email)})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if c.LastResponse.IdempotencyKey == "" {
				t.Errorf("Create %s: the server did not echo the SDK's automatic Idempotency-Key", c.ID)
			}
			if h := c.LastResponse.Header.Get("Idempotent-Replayed"); h != "" {
				t.Errorf("Create %s: Idempotent-Replayed = %q on a fresh key", c.ID, h)
			}
			seen = append(seen, c)
		}
		if seen[0].ID == seen[1].ID || seen[0].LastResponse.IdempotencyKey == seen[1].LastResponse.IdempotencyKey {
			t.Errorf("two creates without explicit keys: IDs %s, %s with keys %q, %q; want distinct customers and keys",
				seen[0].ID, seen[1].ID, seen[0].LastResponse.IdempotencyKey, seen[1].LastResponse.IdempotencyKey)
		}
	})

	t.Run("retry after a lost response", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		// The reason the SDK adds keys: the response to the first attempt is
		// lost after the server committed it, and the SDK's own retry with
		// the same automatic key must get that customer, not a second one.
		rec := &sdkRecorder{loseFirstPOST: true}
		retrying := stripe.NewClient(srv.Key, stripe.WithBackends(sdkBackends(srv.URL, 1, rec)))
		email := "lost+" + sdkUnique() + "@example.com"
		c, err := retrying.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Email: stripe.String(email)})
		if err != nil {
			t.Fatalf("Create with one retry: %v", err)
		}
		reqs := rec.requests()
		if len(reqs) != 2 || reqs[0].IdempotencyKey == "" || reqs[0].IdempotencyKey != reqs[1].IdempotencyKey {
			t.Fatalf("requests sent = %+v, want two POSTs with one automatic Idempotency-Key", reqs)
		}
		if h := c.LastResponse.Header.Get("Idempotent-Replayed"); h != "true" {
			t.Errorf("retried Create: Idempotent-Replayed = %q, want \"true\"", h)
		}
		ids, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String(email)}))
		if err != nil {
			t.Fatalf("List(email): %v", err)
		}
		if diff := gocmp.Diff([]string{c.ID}, ids); diff != "" {
			t.Errorf("customers created by one retried Create (-want +got):\n%s", diff)
		}
	})
}

func testSDKIsolation(t *testing.T, srv *apitest.Server) {
	ctx := t.Context()
	owner := sdkClient(srv.URL, srv.Key)
	email := "owner+" + sdkUnique() + "@example.com"
	c, err := owner.V1Customers.Create(ctx, sdkFullCreateParams(email))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	_, otherKey := apitest.NewProject(t, srv.DB)
	for _, tc := range []struct{ name, key string }{
		{"other project's test key", otherKey},
		{"same project's live key", apitest.NewKey(t, srv.DB, srv.Project, true)},
	} {
		sc := sdkClient(srv.URL, tc.key)
		missing := sdkWant{Status: 404, Type: stripe.ErrorTypeInvalidRequest, Code: stripe.ErrorCodeResourceMissing, Param: "id"}
		_, err := sc.V1Customers.Retrieve(ctx, c.ID, nil)
		sdkCheckError(t, tc.name+": Retrieve", err, missing)
		sdkCheckClass[*stripe.InvalidRequestError](t, tc.name+": Retrieve", err)
		_, err = sc.V1Customers.Update(ctx, c.ID, &stripe.CustomerUpdateParams{Name: stripe.String("Mallory")})
		sdkCheckError(t, tc.name+": Update", err, missing)
		_, err = sc.V1Customers.Delete(ctx, c.ID, nil)
		sdkCheckError(t, tc.name+": Delete", err, missing)
		ids, err := sdkListIDs(ctx, sc.V1Customers.List(ctx, &stripe.CustomerListParams{Email: stripe.String(email)}))
		if err != nil {
			t.Fatalf("%s: List(email): %v", tc.name, err)
		}
		if len(ids) != 0 {
			t.Errorf("%s: List(email=%s) = %v, want none of the other scope's customers", tc.name, email, ids)
		}
	}
	got, err := owner.V1Customers.Retrieve(ctx, c.ID, nil)
	if err != nil {
		t.Fatalf("owner Retrieve(%s) after the other keys' attempts: %v", c.ID, err)
	}
	if diff := gocmp.Diff(sdkView(c), sdkView(got)); diff != "" {
		t.Errorf("customer changed by another scope's key (-before +after):\n%s", diff)
	}
}
