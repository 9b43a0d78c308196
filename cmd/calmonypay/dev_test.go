package main

import (
	"strings"
	"testing"
)

func TestDevSeedCommand(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	for _, bad := range [][]string{
		{"dev"},
		{"dev", "plant"},
		{"dev", "seed", "--customers", "0"},
		{"dev", "seed", "--payments", "-1"},
		{"dev", "seed", "--customers", "5", "--subscriptions", "6"},
		{"dev", "seed", "extra"},
	} {
		if code, _, _ := te.cmd(bad...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", bad, code)
		}
	}
	code, out, errOut := te.cmd("dev", "seed", "--customers", "40", "--payments", "300", "--subscriptions", "5")
	if code != 0 {
		t.Fatalf("dev seed = %d %q %q", code, out, errOut)
	}
	for _, want := range []string{"40 customers", "300 payment intents", "5 subscriptions", "3 products"} {
		if !strings.Contains(out, want) {
			t.Errorf("dev seed output %q lacks %q", out, want)
		}
	}
	if !strings.Contains(errOut, "customers 40 of 40") {
		t.Errorf("dev seed progress %q lacks the customers' line", errOut)
	}
	// Production, or a database with a live key, is refused.
	code, _, errOut = te.cmd("dev", "seed", "--env", "production", "--customers", "1", "--payments", "1", "--subscriptions", "0")
	if code != 1 || !strings.Contains(errOut, "production") {
		t.Errorf("dev seed --env production = %d %q, want a refusal", code, errOut)
	}
	if code, out, errOut := te.cmd("keys", "create", "--mode", "live"); code != 0 {
		t.Fatalf("keys create --mode live = %d %q %q", code, out, errOut)
	}
	code, _, errOut = te.cmd("dev", "seed", "--customers", "1", "--payments", "1", "--subscriptions", "0")
	if code != 1 || !strings.Contains(errOut, "live API keys") {
		t.Errorf("dev seed with a live key = %d %q, want a refusal", code, errOut)
	}
}
