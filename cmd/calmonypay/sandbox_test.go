package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calmony/calmonypay/internal/secret"
)

var (
	sandboxLineRE = regexp.MustCompile(`Sandbox\s+(\S+)/ `)
	formActionRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	hiddenRE      = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	sessionURLRE  = regexp.MustCompile(`"url":"([^"]+)"`)
)

// browser follows no redirects and trusts the test's self-signed
// certificate (selfSigned).
var browser = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// browse GETs a page, or POSTs form to it, with key as its API key if
// given, and returns the status, headers and body.
func browse(t *testing.T, method, target, key string, form url.Values) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, target, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// pageForm returns a page's form action, resolved against its URL, and its
// hidden fields.
func pageForm(t *testing.T, pageURL, body string) (string, url.Values) {
	t.Helper()
	m := formActionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form on %s:\n%s", pageURL, body)
	}
	base, _ := url.Parse(pageURL)
	action, _ := base.Parse(html.UnescapeString(m[1]))
	fields := url.Values{}
	for _, f := range hiddenRE.FindAllStringSubmatch(body, -1) {
		fields.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return action.String(), fields
}

// newCheckout creates a checkout session and returns its page's URL.
func newCheckout(t *testing.T, base, key string) string {
	t.Helper()
	status, _, body := browse(t, "POST", base+"/v1/checkout/sessions", key, url.Values{"mode": {"payment"},
		"success_url": {"https://shop.example.com/thanks"}, "cancel_url": {"https://shop.example.com/cart"},
		"line_items[0][quantity]": {"1"}, "line_items[0][price_data][currency]": {"gbp"},
		"line_items[0][price_data][unit_amount]": {"1250"}, "line_items[0][price_data][product_data][name]": {"T-shirt"}})
	m := sessionURLRE.FindStringSubmatch(body)
	if status != 200 || m == nil {
		t.Fatalf("create checkout session: %d %s", status, body)
	}
	return m[1]
}

// serve's sandbox has an origin of its own, printed in the banner, where
// it answers; the API serves none of it; and a hosted payment goes from
// the API's checkout page to the sandbox and back, the sandbox calling back
// to the API itself.
func TestServeSandboxOnItsOwnOrigin(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	base, banner, stop := te.serve()
	defer stop()
	key := keyRE.FindString(banner)
	m := sandboxLineRE.FindStringSubmatch(banner)
	if m == nil || strings.HasPrefix(m[1], base) {
		t.Fatalf("banner shows no sandbox of its own origin:\n%s", banner)
	}
	sandboxURL := m[1]
	status, hdr, body := browse(t, "GET", sandboxURL+"/", "", nil)
	if status != 200 || !strings.Contains(body, `"cardstream_sandbox"`) || hdr.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the banner's sandbox URL answers %d %v %s", status, hdr, body)
	}
	if status, _, _ := browse(t, "POST", base+"/sandbox/cardstream/hosted/", "", url.Values{}); status != http.StatusNotFound {
		t.Errorf("the API serves the sandbox's hosted page: %d", status)
	}
	if status, _, _ := browse(t, "POST", sandboxURL+"/direct/", "", url.Values{"merchantID": {"100001"}, "action": {"QUERY"}}); status != http.StatusNotFound {
		t.Errorf("serve's sandbox listener serves the Direct API: %d", status)
	}

	pageURL := newCheckout(t, base, key)
	_, _, body = browse(t, "GET", pageURL, "", nil)
	action, fields := pageForm(t, pageURL, body)
	if !strings.HasPrefix(action, sandboxURL+"/hosted/") {
		t.Fatalf("checkout page posts to %s, want the sandbox at %s", action, sandboxURL)
	}
	_, _, body = browse(t, "POST", action, "", fields)
	cardAction, card := pageForm(t, action, body)
	card.Set("cardNumber", "4929421234600821")
	card.Set("cardExpiryMonth", "12")
	card.Set("cardExpiryYear", fmt.Sprint(time.Now().Year()%100+2))
	card.Set("cardCVV", "356")
	card.Set("op", "pay")
	_, _, body = browse(t, "POST", cardAction, "", card)
	if back, _ := pageForm(t, cardAction, body); !strings.HasPrefix(back, base+"/v1/checkout/sessions/callback") {
		t.Fatalf("the sandbox sends the browser to %s", back)
	}
	// The browser stops here: only the sandbox's own callback to the API
	// can have recorded the payment.
	id := pageURL[strings.LastIndex(pageURL, "/")+1:]
	if status, body := request(t, "GET", base+"/v1/checkout/sessions/"+id, key, nil); status != 200 || !strings.Contains(body, `"payment_status":"paid"`) {
		t.Errorf("after the sandbox's callback: %d %s", status, body)
	}

	for _, same := range []string{"http://127.0.0.1:1/", "http://127.0.0.1:1/sandbox"} {
		code, _, errOut := te.cmd("serve", "--addr", "127.0.0.1:0", "--public-url", "http://127.0.0.1:1", "--sandbox-url", same)
		if code == 0 || !strings.Contains(errOut, "origin of its own") {
			t.Errorf("serve with the sandbox at %s, on the API's origin = %d %q", same, code, errOut)
		}
	}
}

// In production (over TLS) the sandbox has no listener (test keys reach it
// in memory) and a test-mode checkout page says it cannot take payments here.
func TestServeProductionHasNoSandboxPages(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	for k, v := range map[string]string{"CALMONY_ENCRYPTION_KEY": secret.NewKey(), "CALMONY_WEBHOOK_ENCRYPTION_KEY": secret.NewKey(),
		"CARDSTREAM_MERCHANT_ID": "100001", "CARDSTREAM_SIGNATURE_KEY": "not-a-real-secret", "CARDSTREAM_GATEWAY_URL": "https://gateway.example.com/"} {
		te.env[k] = v
	}
	cert, key := selfSigned(t)
	base, banner, stop := te.serve("--env", "production", "--tls-cert", cert, "--tls-key", key)
	defer stop()
	if sandboxLineRE.MatchString(banner) {
		t.Errorf("production banner shows a sandbox:\n%s", banner)
	}
	status, _, body := browse(t, "GET", newCheckout(t, base, keyRE.FindString(banner)), "", nil)
	if status != http.StatusForbidden || !strings.Contains(body, "Test payments unavailable") {
		t.Errorf("test-mode checkout page in production: %d %s", status, body)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}
