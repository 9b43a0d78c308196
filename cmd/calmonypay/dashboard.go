package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/calmony/calmonypay/internal/config"
	"github.com/calmony/calmonypay/internal/dashboard"
	"github.com/calmony/calmonypay/internal/pay"
)

// dashboardCommand prints one-time sign-in links to the dashboard:
// break-glass access for whoever can run calmonypay on the server, and the
// way in of the embedded default, which has no identity provider.
func dashboardCommand(ctx context.Context, args []string, e *env) error {
	if len(args) == 0 || args[0] != "link" {
		return fmt.Errorf("%w: dashboard needs link", errUsage)
	}
	var (
		email, project, role string
		pub                  config.Config
	)
	db, pos, _, err := storeCommand(ctx, "dashboard link", args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the person's address; default: the project's first admin, or admin@localhost on a project with no member yet")
		fs.StringVar(&project, "project", "", "project ID (default: the only project)")
		fs.StringVar(&role, "role", "", "make the person a member with this role (admin, developer or viewer), or change theirs; "+
			"default: a member keeps theirs, a project's first member is its admin, anyone else is refused")
		pub.BindPublicURL(fs, e.getenv)
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if len(pos) != 0 {
		return fmt.Errorf("%w: dashboard link [--email EMAIL] [--project ID] [--role ROLE]", errUsage)
	}
	if role != "" && !pay.Role(role).Valid() {
		return fmt.Errorf("%w: --role must be admin, developer or viewer", errUsage)
	}
	projectID, err := resolveProject(ctx, db, project, true)
	if err != nil {
		return err
	}
	link, who, err := dashboard.SignInLink(ctx, db, dashboard.LinkOptions{PublicURL: publicURL(&pub), ProjectID: projectID, Email: email,
		Role: pay.Role(role), CreatedBy: "command line"})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Sign-in link for %s to project %s, valid %d minutes, once. Open it in a browser:\n%s\n",
		who, projectID, int(dashboard.LinkLifetime/time.Minute), link)
	return nil
}

// publicURL is serve's public URL as the same flags and variables make it:
// --public-url, or http(s)://--addr.
func publicURL(c *config.Config) string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + c.Addr
}
