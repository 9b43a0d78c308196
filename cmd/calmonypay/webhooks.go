package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
	"github.com/calmony/calmonypay/internal/webhook"
)

// newWebhookWorker builds the webhook delivery worker serve runs.
func newWebhookWorker(db *store.DB, cfg *config.Config, log *slog.Logger) (*webhook.Worker, error) {
	return webhook.New(webhook.Config{
		DB:          db,
		Logger:      log,
		Concurrency: cfg.WebhookConcurrency,
		Timeout:     cfg.WebhookTimeout,
		// Only where the operator asked for it, for development (refused
		// in production).
		AllowPrivateURLs: cfg.AllowPrivateWebhookURLs,
		EventRetention:   time.Duration(cfg.EventRetentionDays) * 24 * time.Hour,
	})
}

// apiClient calls a running server's /v1 API with a secret key, for the
// developer commands (listen, trigger).
type apiClient struct {
	base string // e.g. http://127.0.0.1:8080
	key  string
	http *http.Client
}

// bindAPIClient defines --api-key and --api-url.
func bindAPIClient(fs *flag.FlagSet, e *env) (key, base *string) {
	key = fs.String("api-key", e.getenv("CALMONY_API_KEY"), "a test-mode secret key, sk_test_… (CALMONY_API_KEY)")
	base = fs.String("api-url", cmp.Or(e.getenv("CALMONY_API_URL"), "http://127.0.0.1:8080"), "the server's base URL (CALMONY_API_URL)")
	return key, base
}

// newAPIClient checks the key (test mode only: these commands create
// objects) and the URL.
func newAPIClient(key, base string) (*apiClient, error) {
	livemode, ok := pay.ParseSecretKey(key)
	switch {
	case key == "":
		return nil, fmt.Errorf("%w: give a test-mode secret key with --api-key or CALMONY_API_KEY", errUsage)
	case !ok:
		return nil, fmt.Errorf("%w: --api-key is not a secret key (sk_test_…)", errUsage)
	case livemode:
		return nil, fmt.Errorf("%w: use a test-mode key (sk_test_…): this command creates objects", errUsage)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --api-url must be an http(s) URL such as http://127.0.0.1:8080", errUsage)
	}
	return &apiClient{base: strings.TrimRight(base, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Type    string `json:"type"`
	Code    string `json:"code"`
	Param   string `json:"param"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Message)
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	return s
}

// do sends one request (form-encoded parameters) and decodes the answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, params url.Values, out any) error {
	var body io.Reader
	target := c.base + path
	if method == http.MethodGet || method == http.MethodDelete {
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Stripe-Version", pay.APIVersion)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var env struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error == nil {
			return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		env.Error.Status = resp.StatusCode
		return fmt.Errorf("%s %s: %w", method, path, env.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// isAPIError reports whether err is an API answer with the given status.
func isAPIError(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}
