package sandbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

func TestSaleTestAmounts(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	for _, tt := range []struct {
		name     string
		amount   int64
		typ      cardstream.TransactionType
		authCode string
		code     int
		outcome  cardstream.Outcome
		decline  string
		state    cardstream.State
	}{
		{"approved", 1001, 0, "", 0, cardstream.OutcomeApproved, "", cardstream.StateCaptured},
		{"approved, settles rejected", 2600, 0, "", 0, cardstream.OutcomeApproved, "", cardstream.StateCaptured},
		{"referred", 5000, 0, "", 1, cardstream.OutcomeReferred, "call_issuer", cardstream.StateReferred},
		{"referral completed", 5000, 0, "123456", 0, cardstream.OutcomeApproved, "", cardstream.StateCaptured},
		{"referred, settles rejected", 7600, 0, "", 1, cardstream.OutcomeReferred, "call_issuer", cardstream.StateReferred},
		{"declined", 10000, 0, "", 5, cardstream.OutcomeDeclined, "do_not_honor", cardstream.StateDeclined},
		{"keep card", 15000, 0, "", 4, cardstream.OutcomeDeclined, "pickup_card", cardstream.StateDeclined},
		{"SCA range, MOTO", 20000, cardstream.TypeMOTO, "", 0, cardstream.OutcomeApproved, "", cardstream.StateCaptured},
		{"SCA range, ECOM", 20000, cardstream.TypeECOM, "", 65, cardstream.OutcomeThreeDSRequired, "authentication_required", cardstream.StateDeclined},
		{"SCA decline range, MOTO", 25000, cardstream.TypeMOTO, "", 5, cardstream.OutcomeDeclined, "do_not_honor", cardstream.StateDeclined},
		{"SCA decline range, ECOM", 25000, cardstream.TypeECOM, "", 65, cardstream.OutcomeThreeDSRequired, "authentication_required", cardstream.StateDeclined},
		{"below the ranges", 99, 0, "", 66312, cardstream.OutcomeInvalidRequest, "", ""},
		{"above the ranges", 30000, 0, "", 66312, cardstream.OutcomeInvalidRequest, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := b.client.Sale(context.Background(), cardstream.SaleRequest{
				Amount: tt.amount, Type: tt.typ, Card: card(visa, visaCVV, 12), AuthorisationCode: tt.authCode,
			})
			if err != nil {
				t.Fatalf("Sale(%d) error %v", tt.amount, err)
			}
			if res.ResponseCode != tt.code || res.Outcome != tt.outcome || res.DeclineCode != tt.decline || res.State != tt.state {
				t.Errorf("Sale(%d) = %d %v %q %q, want %d %v %q %q", tt.amount, res.ResponseCode, res.Outcome,
					res.DeclineCode, res.State, tt.code, tt.outcome, tt.decline, tt.state)
			}
			if tt.code == 0 && (res.XRef == "" || res.AmountReceived != tt.amount || res.AuthorisationCode == "") {
				t.Errorf("approved Sale(%d) = xref %q received %d auth %q", tt.amount, res.XRef, res.AmountReceived, res.AuthorisationCode)
			}
		})
	}
}

// testCardCase is one published test card (§11.3).
type testCardCase struct {
	number, cvv, address, postcode, typeCode string
}

func testCards() []testCardCase {
	return []testCardCase{
		{"4929421234600821", "356", "Flat 6 Primrose Rise, 347 Lavender Road, Northampton", "NN17 8YG", "VC"},
		{"4543059999999982", "110", "76 Roseby Avenue, Manchester", "M63X 7TH", "VC"},
		{"4543059999999990", "689", "23 Rogerham Mansions, 4578 Ermine Street, Borehamwood", "WD54 8TH", "VC"},
		{"4539791001730106", "289", "Unit 5 Pickwick Walk, 120 Uxbridge Road, Hatch End, Middlesex", "HA6 7HJ", "VD"},
		{"4462000000000003", "672", "Mews 57, Ladybird Drive, Denmark", "65890", "VD"},
		{"4917480000000008", "009", "5-6 Ross Avenue, Birmingham", "B67 8UJ", "EL"},
		{"5301250070000191", "419", "25 The Larches, Narborough, Leicester", "LE10 2RT", "MC"},
		{"5413339000001000", "304", "Pear Tree Cottage, The Green, Milton Keynes", "MK11 7UY", "MC"},
		{"5434849999999951", "470", "34a Rubbery Close, Cloisters Run, Rugby", "CV21 8JT", "MC"},
		{"5434849999999993", "557", "4-7 The Hay Market, Grantham", "NG32 4HG", "MC"},
		{"5573471234567898", "159", "Merevale Avenue, Leicester", "LE10 2BU", "MD"},
		{"6759015050123445002", "309", "The Parkway, 5258 Larches Approach, Hull, North Humberside", "HU10 5OP", "MA"},
		{"6759016800000120097", "701", "The Manor, Wolvey Road, Middlesex", "TW7 9FF", "MA"},
		{"3540599999991047", "209", "2 Middle Wallop, Merideth-in-the-Wolds, Lincolnshire", "LN2 8HG", "JC"},
		{"374245455400001", "4887", "The Hunts Way, Southampton", "SO18 1GW", "AM"},
		{"36432685260294", "111", "", "", "DI"},
	}
}

func TestSaleTestCards(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	for _, tc := range testCards() {
		t.Run(tc.number, func(t *testing.T) {
			t.Parallel()
			wantAVS := cardstream.CheckMatched
			if tc.address == "" {
				wantAVS = cardstream.CheckNotKnown
			}
			res := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(tc.number, tc.cvv, 12),
				Customer: cardstream.Customer{Address: tc.address, Postcode: tc.postcode}})
			want := cardstream.Checks{CV2: cardstream.CheckMatched, Address: wantAVS, Postcode: wantAVS}
			if got := res.Checks; got.CV2 != want.CV2 || got.Address != want.Address || got.Postcode != want.Postcode {
				t.Errorf("checks = %+v, want %+v", got, want)
			}
			if res.Card.TypeCode != tc.typeCode || !strings.HasSuffix(res.Card.Mask, tc.number[len(tc.number)-4:]) ||
				strings.Contains(res.Fields.Encode(), tc.number) {
				t.Errorf("card = %+v, want type %s and a mask", res.Card, tc.typeCode)
			}
			wrong := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1001, Card: card(tc.number, "000", 12),
				Customer: cardstream.Customer{Address: "1 Nowhere", Postcode: "ZZ1 1ZZ"}})
			if wrong.Checks.CV2 != cardstream.CheckNotMatched || (tc.address != "" && wrong.Checks.Postcode != cardstream.CheckNotMatched) {
				t.Errorf("wrong details checks = %+v, want not matched", wrong.Checks)
			}
			strict, err := b.client.Sale(context.Background(), cardstream.SaleRequest{Amount: 1001,
				Card: card(tc.number, "000", 12), Checks: cardstream.CheckPrefs{CV2: cardstream.StrictCV2CheckPref}})
			if err != nil || strict.ResponseCode != 5 || strict.DeclineCode != "incorrect_cvc" || strict.State != cardstream.StateReversed {
				t.Errorf("strict CV2 = %+v, %v; want 5 incorrect_cvc reversed", strict, err)
			}
		})
	}
}

func TestSaleCardFailures(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	for _, tt := range []struct {
		name    string
		card    *cardstream.Card
		code    int
		decline string
	}{
		{"unknown Luhn-valid card", card("4111111111111111", "123", 12), 5, "do_not_honor"},
		{"Luhn failure", card("4929421234600822", "356", 12), 66314, ""},
		{"expired", &cardstream.Card{Number: visa, CVV: visaCVV, ExpiryMonth: 2, ExpiryYear: 26}, 54, "expired_card"},
		{"address mismatch decline", card(visa, visaCVV, 12), 5, "incorrect_zip"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := cardstream.SaleRequest{Amount: 1001, Card: tt.card}
			if tt.name == "address mismatch decline" {
				req.Customer = cardstream.Customer{Postcode: "ZZ1 1ZZ"}
				req.Checks = cardstream.CheckPrefs{Postcode: "matched,not checked"}
			}
			res, err := b.client.Sale(context.Background(), req)
			if err != nil || res.ResponseCode != tt.code || res.DeclineCode != tt.decline {
				t.Errorf("Sale = %+v, %v; want %d %q", res, err, tt.code, tt.decline)
			}
		})
	}
}

func TestVerifyTokeniseAndCloneXRef(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	ctx := context.Background()
	v, err := b.client.Verify(ctx, cardstream.VerifyRequest{Card: *card(visa, visaCVV, 12),
		Customer: cardstream.Customer{Name: "Zoë", Postcode: "NN17 8YG"}})
	if err != nil || !v.Approved() || v.State != cardstream.StateVerified || v.XRef == "" || v.Amount != 0 {
		t.Fatalf("Verify = %+v, %v; want approved verified with an xref", v, err)
	}
	// A recurring MIT on the token: no CVV, card and customer cloned.
	mit := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1500, XRef: v.XRef,
		Type: cardstream.TypeContinuousAuthority, Agreement: cardstream.AgreementRecurring})
	if mit.XRef == v.XRef || mit.Card.Mask != "492942******0821" || mit.Fields.Get("customerName") != "Zoë" ||
		mit.Checks.CV2 != cardstream.CheckNotChecked || mit.Checks.Postcode != cardstream.CheckMatched {
		t.Errorf("xref sale = %+v, want a new xref with the cloned card and customer", mit)
	}
	cit := mustSale(t, b.client, cardstream.SaleRequest{Amount: 1500, XRef: v.XRef, CVV: "000"})
	if cit.Checks.CV2 != cardstream.CheckNotMatched {
		t.Errorf("xref sale with wrong CVV checks = %+v", cit.Checks)
	}
	res, err := b.client.Sale(ctx, cardstream.SaleRequest{Amount: 1500, XRef: "26010112UNKNOWNXREF0000"})
	if err != nil || res.ResponseCode != 66341 {
		t.Errorf("Sale(unknown xref) = %+v, %v; want 66341", res, err)
	}
	other := b.clientFor(t, "100856", cardstream.TestSecret)
	res, err = other.Sale(ctx, cardstream.SaleRequest{Amount: 1500, XRef: v.XRef})
	if err != nil || res.ResponseCode != 66341 {
		t.Errorf("Sale(another merchant's xref) = %+v, %v; want 66341", res, err)
	}
}

func TestDuplicateDelay(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	ctx := context.Background()
	req := cardstream.SaleRequest{Amount: 1001, Card: card(visa, visaCVV, 12), TransactionUnique: "order-1"}
	first := mustSale(t, b.client, req)
	dup, err := b.client.Sale(ctx, req)
	if err != nil || dup.ResponseCode != 65554 || dup.Outcome != cardstream.OutcomeDuplicate {
		t.Fatalf("repeat Sale = %+v, %v; want 65554", dup, err)
	}
	other := req
	other.Amount = 1002
	mustSale(t, b.client, other) // a different amount is not a duplicate
	b.clock.Advance(301 * time.Second)
	again := mustSale(t, b.client, req)
	if again.XRef == first.XRef {
		t.Errorf("sale after the window reused xref %s", first.XRef)
	}
	// duplicateDelay=0 disables the check.
	zero := fieldsOf("merchantID", "100001", "action", "SALE", "type", "2", "amount", "1001", "currencyCode", "826",
		"countryCode", "826", "cardNumber", visa, "cardExpiryMonth", "12", "cardExpiryYear", "28", "cardCVV", visaCVV,
		"transactionUnique", "order-0", "duplicateDelay", "0")
	for i := range 2 {
		if got := b.direct(t, zero, cardstream.TestSecret).Get("responseCode"); got != "0" {
			t.Errorf("duplicateDelay=0 attempt %d responseCode %s, want 0", i, got)
		}
	}
}

func TestSignatureRejections(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	base := fieldsOf("merchantID", "100001", "action", "QUERY", "xref", "x")
	good := cardstream.SignedRequest(base, cardstream.TestSecret)
	wrong := cardstream.SignedRequest(base, "not the secret")
	malformed := append(base.Clone(), cardstream.Field{Name: "signature", Value: "abc"})
	for _, tt := range []struct {
		name   string
		fields cardstream.Fields
		code   string
		signed bool
	}{
		{"missing signature", base, "66087", true},
		{"malformed signature", malformed, "66343", true},
		{"wrong signature", wrong, "65539", true},
		{"unknown merchant", cardstream.SignedRequest(fieldsOf("merchantID", "999", "action", "QUERY"), "x"), "65539", false},
		{"missing merchantID", fieldsOf("action", "QUERY"), "66049", false},
		{"invalid merchantID", fieldsOf("merchantID", "abc"), "66305", false},
		{"good signature, unknown xref", good, "66341", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := b.direct(t, tt.fields, "")
			if got := resp.Get("responseCode"); got != tt.code {
				t.Errorf("responseCode = %s (%s), want %s", got, resp.Get("responseMessage"), tt.code)
			}
			_, err := cardstream.Verify(resp, cardstream.TestSecret)
			if tt.signed != (err == nil) {
				t.Errorf("response verification error %v, signed want %t", err, tt.signed)
			}
		})
	}
	// A client with the wrong secret sees a verification error carrying the
	// unverified 65539.
	bad := b.clientFor(t, cardstream.TestMerchantID, "wrong")
	_, err := bad.Query(context.Background(), cardstream.QueryRequest{XRef: "x"})
	var uv *cardstream.UnverifiedError
	if !errors.Is(err, cardstream.ErrBadSignature) || !errors.As(err, &uv) || uv.ResponseCode != "65539" {
		t.Errorf("Query with the wrong secret = %v, want ErrBadSignature with unverified 65539", err)
	}
}

func TestMissingAndInvalidFields(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	full := func(drop string, set ...string) cardstream.Fields {
		f := fieldsOf("merchantID", "100001", "action", "SALE", "type", "2", "amount", "1001", "currencyCode", "826",
			"countryCode", "826", "cardNumber", visa, "cardExpiryMonth", "12", "cardExpiryYear", "28", "cardCVV", visaCVV)
		f.Del(drop)
		for i := 0; i+1 < len(set); i += 2 {
			f.Set(set[i], set[i+1])
		}
		return f
	}
	for _, tt := range []struct {
		name   string
		fields cardstream.Fields
		code   string
	}{
		{"valid", full(""), "0"},
		{"checkOnly", full("", "checkOnly", "Y"), "0"},
		{"no action", full("action"), "66055"},
		{"bad action", full("", "action", "STEAL"), "66311"},
		{"no amount", full("amount"), "66056"},
		{"bad amount", full("", "amount", "10.01"), "66312"},
		{"no currency", full("currencyCode"), "66057"},
		{"bad currency", full("", "currencyCode", "pounds"), "66313"},
		{"unsupported currency", full("", "currencyCode", "392"), "65546"},
		{"no card", full("cardNumber"), "66058"},
		{"bad card", full("", "cardNumber", "4929x"), "66314"},
		{"no expiry month", full("cardExpiryMonth"), "66059"},
		{"bad expiry month", full("", "cardExpiryMonth", "13"), "66315"},
		{"no expiry year", full("cardExpiryYear"), "66060"},
		{"bad expiry year", full("", "cardExpiryYear", "x"), "66316"},
		{"expiry date form", full("cardExpiryMonth", "cardExpiryYear", "", "cardExpiryDate", "1228"), "0"},
		{"no CVV", full("cardCVV"), "66064"},
		{"bad CVV", full("", "cardCVV", "12"), "66320"},
		{"no country", full("countryCode"), "66070"},
		{"no type", full("type"), "66086"},
		{"bad type", full("", "type", "7"), "66342"},
		{"bad duplicateDelay", full("", "duplicateDelay", "10000"), "66334"},
		{"bad captureDelay", full("", "captureDelay", "31"), "66358"},
		{"VERIFY with an amount", full("", "action", "VERIFY"), "66312"},
		{"unsupported action", full("", "action", "REFUND"), "65563"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := b.direct(t, tt.fields, cardstream.TestSecret)
			if got := resp.Get("responseCode"); got != tt.code {
				t.Errorf("responseCode = %s (%s), want %s", got, resp.Get("responseMessage"), tt.code)
			}
			if resp.Has("cardNumber") || resp.Has("cardCVV") {
				t.Errorf("response echoes card data: %v", resp)
			}
			if _, err := cardstream.Verify(resp, cardstream.TestSecret); err != nil {
				t.Errorf("response does not verify: %v", err)
			}
		})
	}
}

func TestMalformedBodies(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	for _, body := range []string{
		"", "%", "&&&", "=", "a[=1", "merchantID[]=100001", "merchantID=100001&signature[x]=1",
		strings.Repeat("a[]=1&", 1200), "a" + strings.Repeat("[x]", 70) + "=1", "\x00\xff\xfe",
		"merchantID=100001&action=SALE&signature=" + strings.Repeat("0", 128),
	} {
		status, resp := b.post(t, "/direct/", body)
		f, err := cardstream.ParseBody(resp)
		if status != 200 || err != nil || f.Get("responseCode") == "" || f.Get("responseCode") == "0" {
			t.Errorf("POST direct/ %.30q = %d %q, want 200 with an error code", body, status, resp)
		}
	}
}
