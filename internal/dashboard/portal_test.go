package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/calmony/calmonypay/internal/apitest"
	"github.com/calmony/calmonypay/internal/pay"
)

// TestCustomerPortalLink: an admin makes a customer portal link from the
// dashboard (tRPC and the customer page's button) through the operation
// POST /v1/billing_portal/sessions uses; the link opens the customer's
// portal; others are refused; the audit line never holds the link.
func TestCustomerPortalLink(t *testing.T) {
	t.Parallel()
	eachDB(t, apitest.Options{}, func(t *testing.T, srv *apitest.Server) {
		_, cus := v1(t, srv, srv.Key, "POST", "/v1/customers", url.Values{"email": {"jenny@example.com"}})
		id := cus["id"].(string)
		admin := signIn(t, srv, "ada@example.com", pay.RoleAdmin)

		var link struct{ Session, Customer, URL string }
		admin.ok(true, "customers.portalLink", map[string]any{"id": id}, &link)
		if link.Customer != id || !strings.HasPrefix(link.URL, srv.URL+"/portal/") || !strings.HasPrefix(link.Session, "bps_") {
			t.Fatalf("customers.portalLink = %+v", link)
		}
		resp, err := http.Get(link.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the portal link answers %d", resp.StatusCode)
		}
		// The session is the API's: billing_portal.session.created.
		_, events := v1(t, srv, srv.Key, "GET", "/v1/events?type=billing_portal.session.created", nil)
		if data, _ := events["data"].([]any); len(data) != 1 {
			t.Errorf("billing_portal.session.created events: %v", events)
		}
		audit := auditOf(t, srv.DB, srv.Project, "portal_session.created")
		if len(audit) != 1 || audit[0].Target != id || audit[0].Detail["session"] != link.Session {
			t.Errorf("audit = %+v", audit)
		}
		for _, e := range audit {
			for _, v := range e.Detail {
				if strings.Contains(v, "/portal/") {
					t.Errorf("the audit log holds the link: %+v", e)
				}
			}
		}

		// Others: refused, nothing made.
		signIn(t, srv, "viv@example.com", pay.RoleViewer).refused(true, "customers.portalLink", map[string]any{"id": id}, "FORBIDDEN", "")
		signIn(t, srv, "dev@example.com", pay.RoleDeveloper).refused(true, "customers.portalLink", map[string]any{"id": id}, "FORBIDDEN", "")
		_, otherKey := apitest.NewProject(t, srv.DB)
		_, other := v1(t, srv, otherKey, "POST", "/v1/customers", url.Values{"email": {"x@example.com"}})
		admin.refused(true, "customers.portalLink", map[string]any{"id": other["id"]}, "NOT_FOUND", "")
		admin.refused(true, "customers.portalLink", map[string]any{"id": ""}, "BAD_REQUEST", "id")
		admin.refused(true, "customers.portalLink", map[string]any{"id": id, "returnUrl": "http://127.0.0.1/x"}, "BAD_REQUEST", "returnUrl")
		if n := len(auditOf(t, srv.DB, srv.Project, "portal_session.created")); n != 1 {
			t.Errorf("%d portal links audited after the refusals; want 1", n)
		}

		// The customer page's button shows the link once, not cached.
		status, body := admin.do(http.MethodPost, "/dashboard/customers/"+id+"/portal-link", "application/x-www-form-urlencoded", strings.NewReader(""),
			"Origin", srv.URL, "Sec-Fetch-Site", "same-origin")
		m := regexp.MustCompile(`id="secret">([^<]+)<`).FindStringSubmatch(string(body))
		if status != http.StatusOK || m == nil || !strings.HasPrefix(m[1], srv.URL+"/portal/") || m[1] == link.URL {
			t.Errorf("the portal link button = %d %s", status, body)
		}
	})
}
