package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calmony/calmonypay/internal/pay"
)

func TestProjectsBusinessCommand(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	_, out, _ := te.cmd("projects", "create", "--name", "Tea shop")
	id := lastLine(out)

	if code, out, errOut := te.cmd("projects", "business", id); code != 0 || !strings.Contains(out, "no business details") {
		t.Errorf("projects business %s (unset) = %d %q %q", id, code, out, errOut)
	}
	code, out, errOut := te.cmd("projects", "business", id, "--name", "Tea Shop Ltd", "--address", "Unit 2, 1 High Street, London, e1 6an",
		"--vat-number", "gb 123 4567 89", "--email", "accounts@tea.example")
	if code != 0 {
		t.Fatalf("projects business set = %d %q %q", code, out, errOut)
	}
	for _, want := range []string{"Tea Shop Ltd", "Unit 2, 1 High Street, London, E1 6AN, GB", "GB123456789", "accounts@tea.example"} {
		if !strings.Contains(out, want) {
			t.Errorf("projects business output %q lacks %q", out, want)
		}
	}
	// Shown again with no flags; a flag changes only its field.
	if code, out, _ := te.cmd("projects", "business", id, "--phone", "020 7946 0000"); code != 0 || !strings.Contains(out, "GB123456789") || !strings.Contains(out, "020 7946 0000") {
		t.Errorf("projects business --phone = %d %q", code, out)
	}
	if _, out, _ := te.cmd("projects", "list"); !strings.Contains(lineWith(out, id), "Tea Shop Ltd") {
		t.Errorf("projects list = %q, want %s showing Tea Shop Ltd", out, id)
	}

	// Refused, and nothing changes.
	for _, bad := range [][]string{
		{"projects", "business", id, "--vat-number", "GB12345"},
		{"projects", "business", id, "--email", "nope"},
		{"projects", "business", id, "--name", " "},
		{"projects", "business", id, "--country", "GBR"},
		{"projects", "business", "proj_nope", "--name", "X"},
		{"projects", "business"},
		{"projects", "create", "--vat-number", "GB123456789"},
		{"projects", "business", id, "--clear", "--name", "X"},
	} {
		if code, _, _ := te.cmd(bad...); code == 0 {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, out, _ := te.cmd("projects", "business", id); !strings.Contains(out, "GB123456789") || !strings.Contains(out, "Tea Shop Ltd") {
		t.Errorf("after refusals: %q", out)
	}
	// A VAT number of another country is free text.
	if code, out, errOut := te.cmd("projects", "business", id, "--vat-number", "DE 123456789"); code != 0 || !strings.Contains(out, "DE123456789") {
		t.Errorf("a German VAT number = %d %q %q", code, out, errOut)
	}
	if code, out, _ := te.cmd("projects", "business", id, "--clear"); code != 0 || !strings.Contains(out, "no business details") {
		t.Errorf("--clear = %d %q", code, out)
	}
}

func TestParseAddress(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want pay.Address
	}{
		{"1 High Street, London, E1 6AN", pay.Address{Line1: "1 High Street", City: "London", PostalCode: "E1 6AN"}},
		{"Flat 2, 10 High Street, Shoreditch, London, sw1a1aa", pay.Address{Line1: "Flat 2", Line2: "10 High Street, Shoreditch", City: "London", PostalCode: "SW1A1AA"}},
		{"1 High Street,  London ", pay.Address{Line1: "1 High Street", City: "London"}},
		{"1 High Street", pay.Address{Line1: "1 High Street"}},
		{"10 Rue de Rivoli, 75001 Paris", pay.Address{Line1: "10 Rue de Rivoli", City: "75001 Paris"}},
		{" , ", pay.Address{}},
	} {
		if diff := cmp.Diff(tt.want, parseAddress(tt.in)); diff != "" {
			t.Errorf("parseAddress(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestProjectsDunningCommand(t *testing.T) {
	t.Parallel()
	te := newTestEnv(t)
	te.migrate()
	_, out, _ := te.cmd("projects", "create", "--name", "Gym")
	id := lastLine(out)

	if code, out, errOut := te.cmd("projects", "dunning", id); code != 0 || !strings.Contains(out, "1h,1d,3d") || !strings.Contains(out, "cancel") {
		t.Errorf("projects dunning %s (default) = %d %q %q", id, code, out, errOut)
	}
	code, out, errOut := te.cmd("projects", "dunning", id, "--retries", "30m,2d", "--final-action", "mark_unpaid")
	if code != 0 || !strings.Contains(out, "30m,2d") || !strings.Contains(out, "mark_unpaid") || !strings.Contains(out, "leave_open") {
		t.Fatalf("projects dunning set = %d %q %q", code, out, errOut)
	}
	// Refused, and nothing changes.
	for _, bad := range [][]string{
		{"projects", "dunning", id, "--retries", "1w"},
		{"projects", "dunning", id, "--retries", "30s"},
		{"projects", "dunning", id, "--final-action", "delete"},
		{"projects", "dunning", id, "--invoice-action", "void"},
		{"projects", "dunning", "proj_nope", "--retries", "1h"},
		{"projects", "dunning"},
		{"projects", "business", id, "--retries", "1h"},
	} {
		if code, _, _ := te.cmd(bad...); code == 0 {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, out, _ := te.cmd("projects", "dunning", id); !strings.Contains(out, "30m,2d") || !strings.Contains(out, "mark_unpaid") {
		t.Errorf("after refusals: %q", out)
	}
	if code, out, _ := te.cmd("projects", "dunning", id, "--retries", "none", "--invoice-action", "mark_uncollectible"); code != 0 ||
		!strings.Contains(out, "Retries:        none") || !strings.Contains(out, "mark_uncollectible") {
		t.Errorf("no retries = %d %q", code, out)
	}
}
