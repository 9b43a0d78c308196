package sandbox_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/cardstream"
	"github.com/calmony/calmonypay/internal/cardstream/sandbox"
)

// methodSale is a 3-D Secure SALE of the SDK 3-D Secure test card, which
// starts with the method step.
func methodSale(month int) cardstream.SaleRequest {
	req := ecomSale(month, 1001)
	req.Card = card(threeDS, threeCVV, month)
	return req
}

var methodForm = regexp.MustCompile(`<form id="method" method="post" action="([^"]*)">\s*<input type="hidden" name="threeDSMethodData" value="([^"]*)">`)

// methodPage posts the method step's threeDSRequest to its threeDSURL like
// the hidden iframe does and returns where the method page posts back and
// what.
func methodPage(tb testing.TB, b *testBundle, ch *cardstream.ThreeDSChallenge) (string, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, ch.URL, strings.NewReader((cardstream.Fields{{Name: "threeDSMethodData",
		Value: ch.Request.Get("threeDSMethodData")}}).Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := b.srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	page := sb.String()
	csp := res.Header.Get("Content-Security-Policy")
	m := methodForm.FindStringSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil || !strings.Contains(csp, "frame-ancestors *") ||
		!strings.Contains(csp, "form-action https://shop.example;") || res.Header.Get("X-Frame-Options") != "" {
		tb.Fatalf("method page %d (CSP %q, XFO %q): %s", res.StatusCode, csp, res.Header.Get("X-Frame-Options"), page)
	}
	return html.UnescapeString(m[1]), html.UnescapeString(m[2])
}

// TestThreeDSMethodStep: the SDK 3-D Secure test card's first 65802 is the
// method step (threeDSMethodData naming the notification URL, the method
// page as threeDSURL, as Cardstream's published answer); the method page
// posts threeDSMethodData back to the notification URL; its continuation
// (or "timeout") answers 65802 with the challenge for month 12, on the same
// threeDSRef, or the month's frictionless result; a repeated method
// continuation answers the same challenge; the challenge then completes
// as any.
func TestThreeDSMethodStep(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		month   int
		timeout bool
		code    int
		letter  string
	}{
		{"challenge", 12, false, 65802, ""}, {"challenge after a timeout", 12, true, 65802, ""},
		{"frictionless", 1, false, 0, "Y"}, {"frictionless after a timeout", 4, true, 0, "A"}, {"refused result", 2, false, 65803, "N"},
	} {
		first, err := c.Sale(ctx, methodSale(tt.month))
		if err != nil || first.ResponseCode != 65802 || first.ThreeDS == nil || first.ThreeDS.URL != b.srv.URL+"/acs/method" ||
			len(first.ThreeDS.Request) != 1 || first.State != cardstream.StateReceived {
			t.Fatalf("%s: Sale = %+v, %v; want the method step", tt.name, first, err)
		}
		raw, err := base64.RawURLEncoding.DecodeString(first.ThreeDS.Request.Get("threeDSMethodData"))
		var md struct{ ThreeDSMethodNotificationURL, ThreeDSServerTransID string }
		if err != nil || json.Unmarshal(raw, &md) != nil || md.ThreeDSMethodNotificationURL != "https://shop.example/3ds?order=1&threeDSAcsResponse=method" ||
			len(md.ThreeDSServerTransID) != 36 {
			t.Fatalf("%s: threeDSMethodData %s (%v)", tt.name, raw, err)
		}
		back, data := methodPage(t, b, first.ThreeDS)
		if back != md.ThreeDSMethodNotificationURL {
			t.Errorf("%s: the method page posts to %s", tt.name, back)
		}
		if tt.timeout {
			data = "timeout"
		}
		// A challenge answer is refused while the method step is open.
		if res, err := c.ContinueThreeDS(ctx, cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref,
			Response: cardstream.Fields{{Name: "cres", Value: "x:Y"}}}); err != nil || res.ResponseCode != 65793 {
			t.Errorf("%s: cres during the method step = %+v, %v", tt.name, res, err)
		}
		method := cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref, Response: cardstream.Fields{{Name: "threeDSMethodData", Value: data}},
			Expect: cardstream.Expectation{Amount: 1001, CurrencyCode: "826"}}
		res, err := c.ContinueThreeDS(ctx, method)
		if err != nil || res.ResponseCode != tt.code || res.ThreeDSAuthenticated != tt.letter || res.XRef != first.XRef {
			t.Errorf("%s: method continuation = %+v, %v; want %d %q", tt.name, res, err, tt.code, tt.letter)
			continue
		}
		if tt.code != 65802 {
			// Over: the method continuation again finds no step.
			method.Expect = cardstream.Expectation{}
			if again, err := c.ContinueThreeDS(ctx, method); err != nil || again.ResponseCode != 66848 {
				t.Errorf("%s: method continuation again = %+v, %v", tt.name, again, err)
			}
			continue
		}
		if res.ThreeDS == nil || res.ThreeDS.Ref != first.ThreeDS.Ref || res.ThreeDS.URL != b.srv.URL+"/acs/" || res.ThreeDS.Request.Get("creq") == "" {
			t.Fatalf("%s: challenge %+v", tt.name, res.ThreeDS)
		}
		again, err := c.ContinueThreeDS(ctx, method)
		if err != nil || again.ResponseCode != 65802 || again.ThreeDS == nil || again.ThreeDS.Request.Get("creq") != res.ThreeDS.Request.Get("creq") {
			t.Errorf("%s: method continuation again = %+v, %v; want the same challenge", tt.name, again, err)
		}
		// The method page is over.
		if status, _ := b.post(t, "/acs/method", (cardstream.Fields{{Name: "threeDSMethodData", Value: first.ThreeDS.Request.Get("threeDSMethodData")}}).Encode()); status != http.StatusNotFound {
			t.Errorf("%s: method page after the step = %d", tt.name, status)
		}
		cres := acsChoice(t, b, res.ThreeDS, "Y")
		done, err := c.ContinueThreeDS(ctx, cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref,
			Response: cardstream.Fields{{Name: "cres", Value: cres}}, Expect: cardstream.Expectation{Amount: 1001, CurrencyCode: "826"}})
		if err != nil || done.ResponseCode != 0 || done.ThreeDSAuthenticated != "Y" || done.State != cardstream.StateCaptured {
			t.Errorf("%s: challenge continuation = %+v, %v", tt.name, done, err)
		}
	}
}

// TestThreeDSMethodStepRefusals: a wrong method answer is a 3-D Secure
// error that leaves the step open; an unknown method page is a 404; an
// external 3-D Secure result, a card not enrolled (month 11) and the
// hosted page have no method step.
func TestThreeDSMethodStepRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Options{})
	c := b.clientFor(t, sandbox.ThreeDSMerchantID, cardstream.TestSecret)
	ctx := context.Background()
	first, err := c.Sale(ctx, methodSale(12))
	if err != nil || first.ThreeDS == nil {
		t.Fatalf("Sale = %+v, %v", first, err)
	}
	for _, data := range []string{"forged", first.ThreeDS.Request.Get("threeDSMethodData")} {
		res, err := c.ContinueThreeDS(ctx, cardstream.ThreeDSContinueRequest{Ref: first.ThreeDS.Ref, Response: cardstream.Fields{{Name: "threeDSMethodData", Value: data}}})
		if err != nil || res.ResponseCode != 65793 {
			t.Errorf("method answer %q = %+v, %v; want 65793", data, res, err)
		}
	}
	if _, data := methodPage(t, b, first.ThreeDS); data == "" {
		t.Error("the step did not stay open")
	}
	if status, _ := b.post(t, "/acs/method", "threeDSMethodData=unknown"); status != http.StatusNotFound {
		t.Errorf("unknown method page = %d", status)
	}
	if res, err := c.Sale(ctx, methodSale(11)); err != nil || res.ResponseCode != 0 || res.ThreeDSAuthenticated != "U" {
		t.Errorf("not enrolled: %+v, %v", res, err)
	}
	ext := methodSale(12)
	ext.Extra = cardstream.Fields{{Name: "threeDSAuthenticated", Value: "Y"}}
	if res, err := c.Sale(ctx, ext); err != nil || res.ResponseCode != 0 || res.ThreeDSAuthenticated != "Y" {
		t.Errorf("external result: %+v, %v", res, err)
	}
}
