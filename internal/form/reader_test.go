package form

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// mustParse parses raw or fails tb.
func mustParse(tb testing.TB, raw string) Values {
	tb.Helper()
	v, err := ParseQuery(raw)
	if err != nil {
		tb.Fatalf("ParseQuery(%q) error = %v", raw, err)
	}
	return v
}

// readCustomer reads a customer-shaped request the way a handler would.
func readCustomer(r *Reader) {
	r.OptString("name")
	r.OptString("email")
	r.Map("metadata")
	r.Ignore("expand")
	if r.Unset("address") {
		return
	}
	if a, ok := r.Sub("address"); ok {
		for _, f := range []string{"line1", "line2", "city", "postal_code", "country"} {
			a.OptString(f)
		}
	}
}

// readCheckout reads a checkout-session-shaped request.
func readCheckout(r *Reader) {
	r.RequireString("mode")
	items, _ := r.Slice("line_items")
	for _, it := range items {
		it.OptInt64("quantity")
		it.OptString("price")
		if pd, ok := it.Sub("price_data"); ok {
			pd.RequireString("currency")
			pd.OptInt64("unit_amount")
			if prod, ok := pd.Sub("product_data"); ok {
				prod.RequireString("name")
				prod.Map("metadata")
			}
		}
	}
}

func TestReaderErr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		raw   string
		read  func(*Reader)
		code  string // "" means Err() == nil
		param string
	}{
		{"all known", "name=Jo&address[line1]=1+Main+St&metadata[k]=v&expand[]=x", readCustomer, "", ""},
		{"unset object", "address=", readCustomer, "", ""},
		{"unknown top level", "name=Jo&nmae=Jo", readCustomer, CodeUnknown, "nmae"},
		{"unknown in object", "address[line1]=x&address[lin1]=y", readCustomer, CodeUnknown, "address[lin1]"},
		{"unknown sorted first", "zeta=1&alpha=2&name=x", readCustomer, CodeUnknown, "alpha"},
		{"object instead of string", "name[first]=Jo", readCustomer, CodeInvalidString, "name"},
		{"string instead of object", "address=Main+St", readCustomer, CodeInvalidObject, "address"},
		{"metadata cleared", "metadata=", readCustomer, "", ""},
		{"metadata not a hash", "metadata=x", readCustomer, CodeInvalidObject, "metadata"},
		{"metadata digit keys", "metadata[0]=x&metadata[123]=y", readCustomer, "", ""},
		{"metadata nested", "metadata[a][b]=c", readCustomer, CodeInvalidString, "metadata[a]"},
		{
			"checkout ok",
			"mode=payment&line_items[0][price]=price_1&line_items[0][quantity]=2" +
				"&line_items[1][price_data][currency]=gbp&line_items[1][price_data][unit_amount]=2000" +
				"&line_items[1][price_data][product_data][name]=T",
			readCheckout, "", "",
		},
		{"missing", "line_items[0][price]=p", readCheckout, CodeMissing, "mode"},
		{"empty required", "mode=", readCheckout, CodeInvalidEmpty, "mode"},
		{
			"invalid integer deep",
			"mode=payment&line_items[0][price_data][currency]=gbp&line_items[0][price_data][unit_amount]=12.5",
			readCheckout, CodeInvalidInteger, "line_items[0][price_data][unit_amount]",
		},
		{
			"missing deep",
			"mode=payment&line_items[0][price]=p&line_items[1][price_data][unit_amount]=1",
			readCheckout, CodeMissing, "line_items[1][price_data][currency]",
		},
		{
			"unknown deep",
			"mode=payment&line_items[0][price]=p&line_items[1][price_data][currency]=gbp" +
				"&line_items[1][price_data][product_data][name]=T&line_items[1][price_data][product_data][nmae]=T",
			readCheckout, CodeUnknown, "line_items[1][price_data][product_data][nmae]",
		},
		{
			"sparse indexes name elements as sent",
			"mode=payment&line_items[7][price]=p&line_items[9][bogus]=1",
			readCheckout, CodeUnknown, "line_items[9][bogus]",
		},
		{
			"index above MaxIndex",
			"mode=payment&line_items[0][price]=p&line_items[99999999][price]=p",
			readCheckout, CodeLimit, "line_items[99999999]",
		},
		{"element not an object", "mode=payment&line_items[0]=p", readCheckout, CodeInvalidObject, "line_items[0]"},
		{"array not an array", "mode=payment&line_items[a][price]=p", readCheckout, CodeInvalidArray, "line_items"},
		{"array sent empty", "mode=payment&line_items=", readCheckout, CodeInvalidEmpty, "line_items"},
		{"first error wins", "mode=&line_items[0][quantity]=x", readCheckout, CodeInvalidEmpty, "mode"},
		{"error beats unknown", "mode=payment&aaa=1&line_items[0][quantity]=x", readCheckout, CodeInvalidInteger, "line_items[0][quantity]"},
		{"never read sub-array", "mode=payment&other[0][x]=1", readCheckout, CodeUnknown, "other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(mustParse(t, tt.raw))
			tt.read(r)
			err := r.Err()
			if tt.code == "" {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			checkError(t, err, tt.code, tt.param)
		})
	}
}

func TestReaderUnknownMessage(t *testing.T) {
	t.Parallel()
	r := NewReader(mustParse(t, "address[lin1]=x"))
	r.Sub("address")
	e := checkError(t, r.Err(), CodeUnknown, "address[lin1]")
	if want := "Received unknown parameter: address[lin1]"; e.Message != want {
		t.Errorf("Message = %q, want %q", e.Message, want)
	}
	if got, want := e.Error(), "parameter_unknown: "+e.Message; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestReaderScalars(t *testing.T) {
	t.Parallel()
	r := NewReader(mustParse(t, "s=hi&e=&n=-42&b=true&f=false&big=9223372036854775807"))
	if got, ok := r.String("s"); got != "hi" || !ok {
		t.Errorf("String(s) = %q, %v, want hi, true", got, ok)
	}
	if got := r.OptString("e"); got == nil || *got != "" {
		t.Errorf("OptString(e) = %v, want pointer to empty", got)
	}
	if got := r.OptString("absent"); got != nil {
		t.Errorf("OptString(absent) = %v, want nil", *got)
	}
	if got, ok := r.Int64("n"); got != -42 || !ok {
		t.Errorf("Int64(n) = %d, %v, want -42, true", got, ok)
	}
	if got := r.OptInt64("big"); got == nil || *got != 1<<63-1 {
		t.Errorf("OptInt64(big) = %v, want max int64", got)
	}
	if got, ok := r.Bool("b"); !got || !ok {
		t.Errorf("Bool(b) = %v, %v, want true, true", got, ok)
	}
	if got := r.OptBool("f"); got == nil || *got {
		t.Errorf("OptBool(f) = %v, want pointer to false", got)
	}
	if got := r.OptBool("absent"); got != nil {
		t.Errorf("OptBool(absent) = %v, want nil", *got)
	}
	if got, ok := r.Int64("absent"); got != 0 || ok {
		t.Errorf("Int64(absent) = %d, %v, want 0, false", got, ok)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestReaderTypedErrors(t *testing.T) {
	t.Parallel()
	const secret = "4242424242424242"
	for _, tt := range []struct {
		name  string
		raw   string
		read  func(*Reader)
		code  string
		param string
	}{
		{"integer decimal", "amount=12.5", func(r *Reader) { r.Int64("amount") }, CodeInvalidInteger, "amount"},
		{"integer text", "card[number]=" + secret + "x", func(r *Reader) { c, _ := r.Sub("card"); c.Int64("number") }, CodeInvalidInteger, "card[number]"},
		{"integer overflow", "amount=9223372036854775808", func(r *Reader) { r.OptInt64("amount") }, CodeInvalidInteger, "amount"},
		{"integer exponent", "amount=1e3", func(r *Reader) { r.Int64("amount") }, CodeInvalidInteger, "amount"},
		{"integer empty", "amount=", func(r *Reader) { r.Int64("amount") }, CodeInvalidEmpty, "amount"},
		{"integer object", "amount[x]=1", func(r *Reader) { r.Int64("amount") }, CodeInvalidInteger, "amount"},
		{"require integer", "", func(r *Reader) { r.RequireInt64("amount") }, CodeMissing, "amount"},
		{"boolean", "capture=" + secret, func(r *Reader) { r.Bool("capture") }, CodeInvalidBoolean, "capture"},
		{"boolean case", "capture=True", func(r *Reader) { r.OptBool("capture") }, CodeInvalidBoolean, "capture"},
		{"boolean empty", "capture=", func(r *Reader) { r.Bool("capture") }, CodeInvalidEmpty, "capture"},
		{"boolean array", "capture[]=true", func(r *Reader) { r.Bool("capture") }, CodeInvalidBoolean, "capture"},
		{"string array", "card[cvc][]=" + secret, func(r *Reader) { c, _ := r.Sub("card"); c.OptString("cvc") }, CodeInvalidString, "card[cvc]"},
		{"require string", "", func(r *Reader) { r.RequireString("currency") }, CodeMissing, "currency"},
		{"slice scalar", "expand=customer", func(r *Reader) { r.StringSlice("expand") }, CodeInvalidArray, "expand"},
		{"slice object", "expand[a]=customer", func(r *Reader) { r.StringSlice("expand") }, CodeInvalidArray, "expand"},
		{"slice empty", "expand=", func(r *Reader) { r.StringSlice("expand") }, CodeInvalidEmpty, "expand"},
		{"slice element", "expand[0][x]=1", func(r *Reader) { r.StringSlice("expand") }, CodeInvalidString, "expand[0]"},
		{"slice element named as sent", "expand[5][x]=1", func(r *Reader) { r.StringSlice("expand") }, CodeInvalidString, "expand[5]"},
		{"slice index above MaxIndex", "expand[1001]=a", func(r *Reader) { r.StringSlice("expand") }, CodeLimit, "expand[1001]"},
		{"map appended", "metadata[]=x", func(r *Reader) { r.Map("metadata") }, CodeInvalidObject, "metadata"},
		{"map scalar", "metadata=x", func(r *Reader) { r.Map("metadata") }, CodeInvalidObject, "metadata"},
		{"sub empty", "card=", func(r *Reader) { r.Sub("card") }, CodeInvalidEmpty, "card"},
		{"sub array", "card[0]=" + secret, func(r *Reader) { r.Sub("card") }, CodeInvalidObject, "card"},
		{"fail", "amount=-1", func(r *Reader) { r.Int64("amount"); r.Fail("amount", "amount_too_small", "Amount must be positive.") }, "amount_too_small", "amount"},
		{"fail nested", "items[0][quantity]=0", func(r *Reader) {
			its, _ := r.Slice("items")
			its[0].Int64("quantity")
			its[0].Fail("quantity", CodeInvalidInteger, "Quantity must be at least 1.")
		}, CodeInvalidInteger, "items[0][quantity]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(mustParse(t, tt.raw))
			tt.read(r)
			e := checkError(t, r.Err(), tt.code, tt.param)
			if strings.Contains(e.Message, secret) {
				t.Errorf("Message %q echoes a parameter value", e.Message)
			}
		})
	}
}

func TestReaderStringSlice(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw  string
		want []string
	}{
		{"expand[]=a&expand[]=b", []string{"a", "b"}},
		{"expand[0]=a&expand[1]=b", []string{"a", "b"}},
		{"expand[1]=b&expand[0]=a", []string{"a", "b"}},
		{"expand[0]=", []string{""}},
	} {
		r := NewReader(mustParse(t, tt.raw))
		got, ok := r.StringSlice("expand")
		if !ok || !reflect.DeepEqual(got, tt.want) || r.Err() != nil {
			t.Errorf("StringSlice(expand) of %q = %q, %v (Err %v), want %q, true", tt.raw, got, ok, r.Err(), tt.want)
		}
	}
	r := NewReader(mustParse(t, "payment_method_types="))
	if !r.Unset("payment_method_types") {
		t.Errorf("Unset(payment_method_types) = false, want true")
	}
	if got, ok := r.StringSlice("absent"); got != nil || ok {
		t.Errorf("StringSlice(absent) = %q, %v, want nil, false", got, ok)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestReaderMap(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		raw                  string
		want                 map[string]string
		present, wantcleared bool
	}{
		{"metadata[a]=1&metadata[b]=", map[string]string{"a": "1", "b": ""}, true, false},
		{"metadata=", nil, true, true},
		{"other=1", nil, false, false},
	} {
		r := NewReader(mustParse(t, tt.raw))
		r.Ignore("other")
		got, present, cleared := r.Map("metadata")
		if !reflect.DeepEqual(got, tt.want) || present != tt.present || cleared != tt.wantcleared {
			t.Errorf("Map(metadata) of %q = %v, %v, %v, want %v, %v, %v",
				tt.raw, got, present, cleared, tt.want, tt.present, tt.wantcleared)
		}
		if err := r.Err(); err != nil {
			t.Errorf("Err() = %v, want nil", err)
		}
	}
}

func TestReaderSub(t *testing.T) {
	t.Parallel()
	r := NewReader(mustParse(t, "address[line1]=x&address[city]=y&shipping="))
	a1, ok1 := r.Sub("address")
	a1.String("line1")
	a2, ok2 := r.Sub("address")
	a2.String("city")
	if !ok1 || !ok2 || a1 != a2 {
		t.Errorf("Sub(address) twice = %p, %v and %p, %v, want the same reader", a1, ok1, a2, ok2)
	}
	if got := a1.Param("line1"); got != "address[line1]" {
		t.Errorf("Param(line1) = %q, want address[line1]", got)
	}
	absent, ok := r.Sub("card")
	if absent == nil || ok {
		t.Fatalf("Sub(card) = %v, %v, want empty reader, false", absent, ok)
	}
	if _, ok := absent.String("number"); ok || absent.Has("number") {
		t.Errorf("empty reader reports a parameter")
	}
	if !r.Has("shipping") || r.Unset("address") || !r.Unset("shipping") {
		t.Errorf("Has/Unset disagree with the request")
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestReaderSlice(t *testing.T) {
	t.Parallel()
	r := NewReader(mustParse(t, "items[0][price]=a&items[1][price]=b"))
	items, ok := r.Slice("items")
	if !ok || len(items) != 2 {
		t.Fatalf("Slice(items) = %d readers, %v, want 2, true", len(items), ok)
	}
	for i, want := range []string{"a", "b"} {
		if got, _ := items[i].String("price"); got != want {
			t.Errorf("items[%d].String(price) = %q, want %q", i, got, want)
		}
	}
	again, _ := r.Slice("items")
	if again[0] != items[0] {
		t.Errorf("Slice(items) twice returned different readers")
	}
	if got, ok := r.Slice("absent"); got != nil || ok {
		t.Errorf("Slice(absent) = %v, %v, want nil, false", got, ok)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestReaderJSON(t *testing.T) {
	t.Parallel()
	v, err := ParseJSON([]byte(`{"amount": 2000, "capture": true, "metadata": null, "expand": [], "description": null}`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(v)
	amount, _ := r.Int64("amount")
	capture, _ := r.Bool("capture")
	_, _, cleared := r.Map("metadata")
	expand, _ := r.StringSlice("expand")
	desc := r.OptString("description")
	if amount != 2000 || !capture || !cleared || expand == nil || len(expand) != 0 || desc == nil || *desc != "" {
		t.Errorf("read %d, %v, %v, %q, %v", amount, capture, cleared, expand, desc)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestReaderKeepsConsumingAfterError(t *testing.T) {
	t.Parallel()
	r := NewReader(mustParse(t, "a=x&b=2&c[d]=e"))
	r.Int64("a")
	if got, ok := r.Int64("b"); got != 2 || !ok {
		t.Errorf("Int64(b) after an error = %d, %v, want 2, true", got, ok)
	}
	c, _ := r.Sub("c")
	c.String("d")
	r.Missing("z")
	checkError(t, r.Err(), CodeInvalidInteger, "a")
	if e := r.unknown(); e != nil {
		t.Errorf("unknown() = %v, want every parameter consumed", e)
	}
}

func TestReaderMapRefusesJSONArray(t *testing.T) {
	t.Parallel()
	v, err := ParseJSON([]byte(`{"metadata": ["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReader(v)
	if m, present, _ := r.Map("metadata"); m != nil || present {
		t.Errorf("Map(metadata) of a JSON array = %v, %v, want nil, false", m, present)
	}
	checkError(t, r.Err(), CodeInvalidObject, "metadata")
}

func TestReaderMapNumericKeys(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"metadata[0]=a&metadata[1]=b", "metadata[7]=a&metadata[123456]=b", "metadata[007]=a"} {
		r := NewReader(mustParse(t, raw))
		m, present, _ := r.Map("metadata")
		if !present || r.Err() != nil || len(m) == 0 {
			t.Fatalf("Map(%q) = %v, %v, err %v", raw, m, present, r.Err())
		}
		v, _ := url.ParseQuery(raw)
		for k, vals := range v {
			key := strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")
			if m[key] != vals[0] {
				t.Errorf("Map(%q)[%q] = %q, want %q", raw, key, m[key], vals[0])
			}
		}
	}
}
