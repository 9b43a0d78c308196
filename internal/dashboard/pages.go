package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/pdf"
)

// The pages are server-rendered html/template, with their stylesheet (and
// any script) served from the binary: no inline script or style, so the
// policy below can be strict.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// templates are the pages by file name (without .html), each parsed with
// the layout.
var templates = parseTemplates()

func parseTemplates() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	// Files named _*.html hold partials every page may use.
	if partials, err := fs.Glob(templateFS, "templates/_*.html"); err == nil && len(partials) > 0 {
		layout = template.Must(layout.ParseFS(templateFS, partials...))
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		out[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, name))
	}
	return out
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// money formats minor units with the currency's symbol: 1050 gbp → £10.50.
	"money": pdf.Money,
	// date formats a unix time in UTC.
	"date": func(unix int64) string {
		if unix == 0 {
			return ""
		}
		return time.Unix(unix, 0).UTC().Format("2 Jan 2006 15:04")
	},
	"day": func(unix int64) string { return time.Unix(unix, 0).UTC().Format("2 Jan 2006") },
	// Money pages: upper cases a currency code; status writes a status
	// in words (requires_payment_method → requires payment method).
	"upper":  strings.ToUpper,
	"status": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
}

// pageRoutes builds the mux of every page under /dashboard/.
func (s *Server) pageRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /dashboard/static/", http.StripPrefix("/dashboard/", staticHandler()))
	mux.Handle("GET /dashboard/signin", http.HandlerFunc(s.signInPage))
	mux.Handle("POST /dashboard/switch", s.action(pay.RoleViewer, s.switchAction))
	// Money (money_pages.go): overview, payments, customers, subscriptions, invoices.
	s.moneyRoutes(mux)
	// Developers, settings, team, audit log (part C).
	s.devPageRoutes(mux)
	mux.Handle("/dashboard/", s.page(pay.RoleViewer, func(w http.ResponseWriter, r *http.Request, c *call) error {
		return &trpcError{code: "NOT_FOUND", message: "There is no such page."}
	}))
	// Every form POST (and any other unsafe method) from another origin
	// is refused before it reaches a handler; the SameSite=Lax cookie
	// alone would let a same-site sibling post.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, nil, &trpcError{code: "FORBIDDEN", message: "Cross-origin form posts are refused."})
	}))
	return cop.Handler(mux)
}

func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// pageFunc renders one page for a signed-in caller.
type pageFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// page serves a page to a signed-in member with at least the least role:
// others are sent to the sign-in page (and back here afterwards).
func (s *Server) page(least pay.Role, fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.signedIn(r)
		if errors.Is(err, errSignedOut) {
			s.clearCookie(w)
			http.Redirect(w, r, "/dashboard/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		} else if err != nil {
			s.errorPage(w, r, nil, err)
			return
		}
		c := &call{principal: p, r: r}
		if !p.may(least) {
			s.errorPage(w, r, c, forbidden(least))
			return
		}
		if err := fn(w, r, c); err != nil {
			s.errorPage(w, r, c, err)
		}
	})
}

// actionFunc runs a form's action and returns where to send the browser
// next and what to tell the person there.
type actionFunc func(r *http.Request, c *call) (next, notice string, err error)

// action serves a form's POST to a signed-in member with at least the least
// role, then redirects (post/redirect/get) with a notice.
func (s *Server) action(least pay.Role, fn actionFunc) http.Handler {
	return s.page(least, func(w http.ResponseWriter, r *http.Request, c *call) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		next, notice, err := fn(r, c)
		if err != nil {
			return err
		}
		s.redirectNotice(w, r, next, notice)
		return nil
	})
}

// parseForm reads a POSTed form, bounded.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxInput)
	if err := r.ParseForm(); err != nil {
		return badRequest("", "The form could not be read.")
	}
	return nil
}

// redirectNotice sends the browser on (post/redirect/get), with a one-shot
// notice when there is one.
func (s *Server) redirectNotice(w http.ResponseWriter, r *http.Request, next, notice string) {
	if notice != "" {
		http.SetCookie(w, &http.Cookie{Name: "calmony_notice", Value: url.QueryEscape(notice), Path: "/dashboard/",
			MaxAge: 60, HttpOnly: true, Secure: s.publicURL.Scheme == "https", SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, localPath(next), http.StatusSeeOther)
}

// localPath keeps a redirect on the dashboard: anything but a path under
// /dashboard/ becomes /dashboard/.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/dashboard/") || strings.Contains(next, "\\") {
		return "/dashboard/"
	}
	return next
}

// layoutData is what the layout shows around every page.
type layoutData struct {
	Title    string
	Active   string // the nav entry to highlight
	Caller   *sessionView
	Notice   string
	Error    string
	Content  any
	CSRFPath string
}

// render writes a page: name's template inside the layout.
func (s *Server) render(w http.ResponseWriter, r *http.Request, c *call, status int, name, title string, content any) error {
	t, ok := templates[name]
	if !ok {
		return fmt.Errorf("dashboard: no template %q", name)
	}
	d := layoutData{Title: title, Active: name, Content: content}
	if c != nil {
		v, err := s.sessionGet(r.Context(), c, struct{}{})
		if err != nil {
			return err
		}
		d.Caller = v
	}
	if ck, err := r.Cookie("calmony_notice"); err == nil {
		d.Notice, _ = url.QueryUnescape(ck.Value)
		http.SetCookie(w, &http.Cookie{Name: "calmony_notice", Path: "/dashboard/", MaxAge: -1})
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// errorPage shows err as a page: the caller's mistakes with their message,
// anything else masked and logged.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, c *call, err error) {
	_, status := s.errorAnswer(r, r.URL.Path, err)
	te := asTRPCError(err)
	if rerr := s.render(w, r, c, status, "error", http.StatusText(status), te); rerr != nil {
		s.log.ErrorContext(r.Context(), "dashboard error page failed", "err", rerr)
		http.Error(w, http.StatusText(status), status)
	}
}

// switchAction moves the session to another project or mode.
func (s *Server) switchAction(r *http.Request, c *call) (string, string, error) {
	in := switchInput{Project: r.PostForm.Get("project")}
	if mode := r.PostForm.Get("mode"); mode != "" {
		live := mode == "live"
		if !live && mode != "test" {
			return "", "", badRequest("mode", "mode must be test or live.")
		}
		in.Livemode = &live
	}
	v, err := s.sessionSwitch(r.Context(), c, in)
	if err != nil {
		return "", "", err
	}
	mode := "test"
	if v.Livemode {
		mode = "live"
	}
	return r.PostForm.Get("next"), "Now showing " + mode + " data.", nil
}
