package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
)

// The developers', settings, team and audit pages (part C). They call the
// procedures, so a page and /api/trpc answer alike; forms POST and are
// answered with a redirect and a notice, except those that show a secret
// once (a new key, an invite link): those answer the POST with the page
// itself, not cached, so the secret is in neither a URL nor a cookie.

// devPageRoutes adds the pages to mux.
func (s *Server) devPageRoutes(mux *http.ServeMux) {
	mux.Handle("GET /dashboard/developers", s.page(pay.RoleViewer, s.developersPage))
	mux.Handle("POST /dashboard/developers/keys", s.page(pay.RoleDeveloper, s.createKeyPage))
	mux.Handle("POST /dashboard/developers/keys/{id}/roll", s.page(pay.RoleDeveloper, s.rollKeyPage))
	mux.Handle("GET /dashboard/developers/keys/{id}/revoke", s.page(pay.RoleDeveloper, s.revokeKeyConfirm))
	mux.Handle("POST /dashboard/developers/keys/{id}/revoke", s.action(pay.RoleDeveloper, s.revokeKeyAction))
	mux.Handle("POST /dashboard/developers/retry", s.action(pay.RoleDeveloper, s.retryAction))
	mux.Handle("POST /dashboard/developers/endpoints", s.page(pay.RoleDeveloper, s.createEndpointPage))
	mux.Handle("POST /dashboard/developers/endpoints/{id}/status", s.action(pay.RoleDeveloper, s.endpointStatusAction))
	mux.Handle("GET /dashboard/developers/endpoints/{id}/delete", s.page(pay.RoleDeveloper, s.deleteEndpointConfirm))
	mux.Handle("POST /dashboard/developers/endpoints/{id}/delete", s.action(pay.RoleDeveloper, s.deleteEndpointAction))
	mux.Handle("GET /dashboard/events/{id}", s.page(pay.RoleViewer, s.eventPage))
	mux.Handle("GET /dashboard/settings", s.page(pay.RoleViewer, func(w http.ResponseWriter, r *http.Request, c *call) error {
		return s.settingsPage(w, r, c, http.StatusOK, nil)
	}))
	mux.Handle("POST /dashboard/settings/{group}", s.page(pay.RoleAdmin, s.settingsAction))
	mux.Handle("GET /dashboard/team", s.page(pay.RoleViewer, s.teamPage))
	mux.Handle("POST /dashboard/team/invite", s.page(pay.RoleAdmin, s.inviteAction))
	mux.Handle("POST /dashboard/team/{user}/role", s.action(pay.RoleAdmin, s.roleAction))
	mux.Handle("GET /dashboard/team/{user}/remove", s.page(pay.RoleAdmin, s.removeMemberConfirm))
	mux.Handle("POST /dashboard/team/{user}/remove", s.action(pay.RoleAdmin, s.removeMemberAction))
	mux.Handle("GET /dashboard/audit", s.page(pay.RoleDeveloper, s.auditPage))
}

// endpointRow is a webhook endpoint with its latest delivery attempts.
type endpointRow struct {
	endpointView
	Deliveries []attemptView
}

// developersData is the developers page.
type developersData struct {
	CanWrite  bool
	Keys      []keyView
	Endpoints []endpointRow
	Events    []eventSummary
	Type      string // the event log's filter
	Next      string // the event log's next page's link
	Graces    []int  // hours a rolled key may keep working, to choose from
}

func (s *Server) developersPage(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	d := developersData{CanWrite: c.may(pay.RoleDeveloper), Graces: []int{0, 1, 24, 72, 168}}
	keys, err := s.keysList(ctx, c, struct{}{})
	if err != nil {
		return err
	}
	d.Keys = keys.Data
	eps, err := s.webhooksList(ctx, c, struct{}{})
	if err != nil {
		return err
	}
	for _, ep := range eps.Data {
		l, err := s.webhooksDeliveries(ctx, c, deliveriesInput{Endpoint: ep.ID, Limit: new(5)})
		if err != nil {
			return err
		}
		d.Endpoints = append(d.Endpoints, endpointRow{endpointView: ep, Deliveries: l.Data})
	}
	q := r.URL.Query()
	in := eventsInput{Type: strings.TrimSpace(q.Get("type")), StartingAfter: q.Get("after")}
	if err := in.validate(); err != nil {
		return err
	}
	events, err := s.eventsList(ctx, c, in)
	if err != nil {
		return err
	}
	d.Events, d.Type = events.Data, in.Type
	if events.HasMore {
		d.Next = "/dashboard/developers?" + url.Values{"type": {in.Type}, "after": {events.Data[len(events.Data)-1].ID}}.Encode() + "#events"
	}
	return s.render(w, r, c, http.StatusOK, "developers", "Developers", d)
}

// secretData is a page that shows a secret once.
type secretData struct {
	Heading, Secret, Intro string
	Key                    *keyView
	Old                    *keyView
	Back                   string
}

// renderSecret answers a POST with a page showing a secret: never cached,
// never redirected to, so the secret is in no URL, cookie or cache.
func (s *Server) renderSecret(w http.ResponseWriter, r *http.Request, c *call, title string, d secretData) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	return s.render(w, r, c, http.StatusOK, "secret", title, d)
}

func (s *Server) createKeyPage(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	mode := r.PostForm.Get("mode")
	if mode != "test" && mode != "live" {
		return badRequest("mode", "Mode must be test or live.")
	}
	v, err := s.keysCreate(r.Context(), c, keyCreateInput{Livemode: mode == "live"})
	if err != nil {
		return err
	}
	return s.renderSecret(w, r, c, "New API key", secretData{Heading: "Your new " + mode + " key", Secret: v.Secret, Key: &v.Key,
		Back: "/dashboard/developers"})
}

func (s *Server) rollKeyPage(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	in := keyRollInput{ID: r.PathValue("id")}
	if h := r.PostForm.Get("expires_in_hours"); h != "" {
		n, err := strconv.Atoi(h)
		if err != nil {
			return badRequest("expiresInHours", "The old key's grace is a whole number of hours.")
		}
		in.ExpiresInHours = &n
	}
	if err := in.validate(); err != nil {
		return err
	}
	v, err := s.keysRoll(r.Context(), c, in)
	if err != nil {
		return err
	}
	return s.renderSecret(w, r, c, "Rolled API key", secretData{Heading: "Your replacement key", Secret: v.Secret, Key: &v.Key, Old: v.Old,
		Back: "/dashboard/developers"})
}

// confirmData is a page that asks before a destructive action.
type confirmData struct {
	Heading, Text, Action, Button, Back string
}

func (s *Server) revokeKeyConfirm(w http.ResponseWriter, r *http.Request, c *call) error {
	keys, err := s.keysList(r.Context(), c, struct{}{})
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	i := slices.IndexFunc(keys.Data, func(k keyView) bool { return k.ID == id && k.Status != "revoked" && k.Status != "expired" })
	if i < 0 {
		return notFound("active API key", id)
	}
	k := keys.Data[i]
	return s.render(w, r, c, http.StatusOK, "confirm", "Revoke API key", confirmData{
		Heading: "Revoke " + k.Hint + "?",
		Text:    "Every request made with this " + modeName(k.Livemode) + " key will be refused from now on. This cannot be undone.",
		Action:  "/dashboard/developers/keys/" + url.PathEscape(id) + "/revoke", Button: "Revoke the key", Back: "/dashboard/developers",
	})
}

func (s *Server) revokeKeyAction(r *http.Request, c *call) (string, string, error) {
	k, err := s.keysRevoke(r.Context(), c, idInput{ID: r.PathValue("id")})
	if err != nil {
		return "", "", err
	}
	return "/dashboard/developers", "Revoked " + k.Hint + ": it no longer works.", nil
}

func (s *Server) retryAction(r *http.Request, c *call) (string, string, error) {
	in := retryInput{Event: r.PostForm.Get("event"), Endpoint: r.PostForm.Get("endpoint")}
	if err := in.validate(); err != nil {
		return "", "", err
	}
	e, err := s.webhooksRetry(r.Context(), c, in)
	if err != nil {
		return "", "", err
	}
	return "/dashboard/developers#webhooks", "Sending " + e.Type + " " + e.ID + " again.", nil
}

func (s *Server) createEndpointPage(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, desc := strings.TrimSpace(r.PostForm.Get("url")), r.PostForm.Get("description")
	events := strings.FieldsFunc(r.PostForm.Get("events"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
	v, err := s.webhooksCreate(r.Context(), c, endpointInput{URL: &u, Events: events, Description: &desc})
	if err != nil {
		return err
	}
	return s.renderSecret(w, r, c, "New webhook endpoint", secretData{Heading: "Signing secret of " + v.Endpoint.URL,
		Intro:  "Your receiver checks each delivery's Stripe-Signature header with this secret.",
		Secret: v.Secret, Back: "/dashboard/developers#webhooks"})
}

func (s *Server) endpointStatusAction(r *http.Request, c *call) (string, string, error) {
	disabled := r.PostForm.Get("disabled") == "true"
	ep, err := s.webhooksUpdate(r.Context(), c, endpointInput{ID: r.PathValue("id"), Disabled: &disabled})
	if err != nil {
		return "", "", err
	}
	return "/dashboard/developers#webhooks", ep.URL + " is now " + ep.Status + ".", nil
}

func (s *Server) deleteEndpointConfirm(w http.ResponseWriter, r *http.Request, c *call) error {
	ep, err := s.db.FindWebhookEndpoint(r.Context(), c.scope(), r.PathValue("id"))
	if errors.Is(err, pay.ErrNotFound) {
		return notFound("webhook endpoint", r.PathValue("id"))
	} else if err != nil {
		return err
	}
	return s.render(w, r, c, http.StatusOK, "confirm", "Delete webhook endpoint", confirmData{
		Heading: "Delete the endpoint " + ep.URL + "?",
		Text:    "No more events will be sent to it, and its deliveries still pending are dropped. This cannot be undone.",
		Action:  "/dashboard/developers/endpoints/" + url.PathEscape(ep.ID) + "/delete", Button: "Delete the endpoint",
		Back: "/dashboard/developers#webhooks",
	})
}

func (s *Server) deleteEndpointAction(r *http.Request, c *call) (string, string, error) {
	if _, err := s.webhooksDelete(r.Context(), c, idInput{ID: r.PathValue("id")}); err != nil {
		return "", "", err
	}
	return "/dashboard/developers#webhooks", "Deleted the endpoint.", nil
}

// eventData is an event's page.
type eventData struct {
	Event *eventDetail
	JSON  string
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request, c *call) error {
	e, err := s.eventsGet(r.Context(), c, idInput{ID: r.PathValue("id")})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e.Event); err != nil {
		return err
	}
	return s.render(w, r, c, http.StatusOK, "event", e.Type+" "+e.ID, eventData{Event: e, JSON: buf.String()})
}

// settingsData is the settings page, with the error of the form just sent
// (and what was typed in it) if it was refused.
type settingsData struct {
	CanWrite bool
	Settings *settingsView
	// Group names the refused form; Field and Error say what is wrong.
	Group, Field, Error string
	Dunning             dunningChoices
	Currencies          []currencyChoice
}

// currencyChoice is a currency to tick.
type currencyChoice struct {
	Code string
	On   bool
}

// dunningChoices are the dunning schedule's final actions to choose from.
type dunningChoices struct{ Final, Invoice []string }

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, c *call, status int, formErr *settingsData) error {
	v, err := s.settingsGet(r.Context(), c, struct{}{})
	if err != nil {
		return err
	}
	d := settingsData{CanWrite: c.may(pay.RoleAdmin), Settings: v, Dunning: dunningChoices{
		Final:   []string{pay.DunningCancel, pay.DunningMarkUnpaid, pay.DunningLeavePastDue},
		Invoice: []string{pay.DunningLeaveOpen, pay.DunningMarkUncollectible},
	}}
	if formErr != nil {
		d.Group, d.Field, d.Error = formErr.Group, formErr.Field, formErr.Error
		if formErr.Settings != nil {
			d.Settings = formErr.Settings // what was typed, to correct
		}
	}
	for _, code := range d.Settings.SupportedCurrencies {
		d.Currencies = append(d.Currencies, currencyChoice{Code: code, On: slices.Contains(d.Settings.Currencies, code)})
	}
	return s.render(w, r, c, status, "settings", "Settings", d)
}

// settingsLabels name the settings' fields as the page labels them.
var settingsLabels = map[string]string{
	"business.name": "Business name", "business.address.line1": "Address line 1", "business.address.line2": "Address line 2",
	"business.address.city": "City", "business.address.state": "County or state", "business.address.postalCode": "Postcode",
	"business.address.country": "Country code", "business.vatNumber": "VAT number", "business.email": "Email",
	"business.phone": "Phone", "currencies": "Currencies", "dunning.retries": "Retries", "dunning.finalAction": "Then the subscription",
	"dunning.invoiceAction": "And the invoice", "signInDomains": "Sign-in domains", "addOrigins[0]": "Origin to add",
	"removeOrigins[0]": "Origin",
}

func (s *Server) settingsAction(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	group := r.PathValue("group")
	var in settingsInput
	switch group {
	case "business":
		in.Business = &businessView{Name: f.Get("name"), VATNumber: f.Get("vat_number"), Email: f.Get("email"), Phone: f.Get("phone"),
			Address: addressView{Line1: f.Get("line1"), Line2: f.Get("line2"), City: f.Get("city"), State: f.Get("state"),
				PostalCode: f.Get("postal_code"), Country: f.Get("country")}}
	case "origins-add":
		in.AddOrigins = []string{strings.TrimSpace(f.Get("origin"))}
	case "origins-remove":
		in.RemoveOrigins = []string{f.Get("origin")}
	case "currencies":
		in.Currencies = append([]string{}, f["currency"]...)
	case "dunning":
		in.Dunning = &dunningView{Retries: cmpOr(strings.TrimSpace(f.Get("retries")), "none"), FinalAction: f.Get("final_action"),
			InvoiceAction: f.Get("invoice_action")}
	case "domains":
		in.SignInDomains = strings.FieldsFunc(f.Get("domains"), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' })
	default:
		return &trpcError{code: "NOT_FOUND", message: "There is no such settings form."}
	}
	if err := in.validate(); err != nil {
		return err
	}
	_, err := s.settingsUpdate(r.Context(), c, in)
	var te *trpcError
	if errors.As(err, &te) && te.code == "BAD_REQUEST" || errors.As(err, &te) && te.code == "NOT_FOUND" && group == "origins-remove" {
		label := cmpOr(settingsLabels[te.field], te.field)
		// Show the form again with what was typed, and what is wrong.
		typed, gerr := s.settingsGet(r.Context(), c, struct{}{})
		if gerr != nil {
			return gerr
		}
		switch {
		case in.Business != nil:
			typed.Business = *in.Business
		case in.Dunning != nil:
			typed.Dunning = *in.Dunning
		case in.SignInDomains != nil:
			typed.SignInDomains = in.SignInDomains
		}
		msg := te.message
		if label != "" {
			msg = label + ": " + msg
		}
		return s.settingsPage(w, r, c, http.StatusBadRequest, &settingsData{Group: group, Field: te.field, Error: msg, Settings: typed})
	}
	if err != nil {
		return err
	}
	s.redirectNotice(w, r, "/dashboard/settings#"+group, "Saved.")
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// teamData is the team page.
type teamData struct {
	CanWrite bool
	Me       string
	Team     *teamView
	Roles    []pay.Role
}

func (s *Server) teamPage(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.membersList(r.Context(), c, struct{}{})
	if err != nil {
		return err
	}
	return s.render(w, r, c, http.StatusOK, "team", "Team", teamData{CanWrite: c.may(pay.RoleAdmin), Me: c.user.ID, Team: t, Roles: pay.Roles})
}

func (s *Server) inviteAction(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	in := inviteInput{Email: r.PostForm.Get("email"), Role: pay.Role(r.PostForm.Get("role"))}
	if err := in.validate(); err != nil {
		return err
	}
	v, err := s.membersInvite(r.Context(), c, in)
	if err != nil {
		return err
	}
	return s.renderSecret(w, r, c, "Invitation", secretData{Heading: "Invitation for " + v.Email + " (" + string(v.Role) + ")",
		Intro:  "Send this link to " + v.Email + ". It works once, for 7 days; it is shown only now.",
		Secret: v.URL, Back: "/dashboard/team"})
}

func (s *Server) roleAction(r *http.Request, c *call) (string, string, error) {
	in := setRoleInput{UserID: r.PathValue("user"), Role: pay.Role(r.PostForm.Get("role"))}
	if err := in.validate(); err != nil {
		return "", "", err
	}
	m, err := s.membersSetRole(r.Context(), c, in)
	if err != nil {
		return "", "", err
	}
	return "/dashboard/team", m.Email + " is now " + string(m.Role) + ".", nil
}

func (s *Server) removeMemberConfirm(w http.ResponseWriter, r *http.Request, c *call) error {
	t, err := s.membersList(r.Context(), c, struct{}{})
	if err != nil {
		return err
	}
	id := r.PathValue("user")
	i := slices.IndexFunc(t.Data, func(m memberView) bool { return m.UserID == id })
	if i < 0 {
		return notFound("member", id)
	}
	m := t.Data[i]
	return s.render(w, r, c, http.StatusOK, "confirm", "Remove member", confirmData{
		Heading: "Remove " + m.Email + "?",
		Text:    m.Email + " (" + string(m.Role) + ") will lose access to this project at once, and be signed out of it.",
		Action:  "/dashboard/team/" + url.PathEscape(id) + "/remove", Button: "Remove " + m.Email, Back: "/dashboard/team",
	})
}

func (s *Server) removeMemberAction(r *http.Request, c *call) (string, string, error) {
	t, err := s.membersList(r.Context(), c, struct{}{})
	if err != nil {
		return "", "", err
	}
	id := r.PathValue("user")
	email := id
	if i := slices.IndexFunc(t.Data, func(m memberView) bool { return m.UserID == id }); i >= 0 {
		email = t.Data[i].Email
	}
	if _, err := s.membersRemove(r.Context(), c, memberIDInput{UserID: id}); err != nil {
		return "", "", err
	}
	return "/dashboard/team", "Removed " + email + ".", nil
}

// auditData is the audit log page.
type auditData struct {
	Lines  []auditRow
	Action string
	Next   string
}

// auditRow is a line of the log with its detail written out.
type auditRow struct {
	auditView
	DetailText string
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	in := auditInput{Action: strings.TrimSpace(q.Get("action")), StartingAfter: q.Get("after"), Limit: new(50)}
	if err := in.validate(); err != nil {
		return err
	}
	l, err := s.auditList(r.Context(), c, in)
	if err != nil {
		return err
	}
	d := auditData{Action: in.Action}
	for _, a := range l.Data {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(a.Detail)) {
			parts = append(parts, k+": "+a.Detail[k])
		}
		d.Lines = append(d.Lines, auditRow{auditView: a, DetailText: strings.Join(parts, ", ")})
	}
	if l.HasMore {
		d.Next = "/dashboard/audit?" + url.Values{"action": {in.Action}, "after": {l.Data[len(l.Data)-1].ID}}.Encode()
	}
	return s.render(w, r, c, http.StatusOK, "audit", "Audit log", d)
}
