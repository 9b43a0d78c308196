package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/store"
)

// searchView is Stripe's search_result object.
type searchView struct {
	Object     string  `json:"object"`
	Data       []any   `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextPage   *string `json:"next_page"`
	URL        string  `json:"url"`
	TotalCount *int64  `json:"total_count,omitempty"`
	kind       string  // the items' object type, for expand[] checks
}

// search serves GET /v1/{table}/search: query (Stripe's search query
// language, see pay.ParseSearchQuery), limit, page (the next_page of the
// previous page) and expand[]=total_count.
func search[T any](table, kind string, find func(context.Context, pay.Scope, pay.SearchQuery, pay.SearchPage) (pay.SearchResult[T], error),
	view func(T) any) readHandler {
	url := "/v1/" + table + "/search"
	return func(r *http.Request, p *params) (readFunc, error) {
		page := pay.SearchPage{Limit: readLimit(p)}
		if i := slices.Index(p.expand, "total_count"); i >= 0 {
			page.Count, p.expand = true, slices.Delete(p.expand, i, i+1)
		}
		if token, _ := p.String("page"); token != "" {
			c, ok := parsePageToken(token)
			if !ok {
				p.Fail("page", "parameter_invalid", "Invalid page: pass the next_page of the previous page of this search.")
			}
			page.After = &c
		}
		raw := p.RequireString("query")
		if raw == "" {
			return nil, p.Err() // missing or empty
		}
		q, err := pay.ParseSearchQuery(raw, store.SearchFields(table))
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, scope pay.Scope) (any, error) {
			res, err := find(ctx, scope, q, page)
			if err != nil {
				return nil, err
			}
			out := searchView{Object: "search_result", Data: make([]any, 0, len(res.Data)), HasMore: res.HasMore, URL: url, kind: kind}
			for _, v := range res.Data {
				out.Data = append(out.Data, view(v))
			}
			if res.Next != nil {
				token := pageToken(*res.Next)
				out.NextPage = &token
			}
			if page.Count {
				out.TotalCount = &res.Total
			}
			return out, nil
		}, nil
	}
}

// pageToken makes a search's next_page: where the next page starts,
// opaque to clients.
func pageToken(c pay.SearchCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Created, 10) + ":" + c.ID))
}

// parsePageToken reads a pageToken back, refusing anything pageToken
// cannot have made.
func parsePageToken(token string) (pay.SearchCursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return pay.SearchCursor{}, false
	}
	created, id, _ := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(created, 10, 64)
	notID := func(r rune) bool {
		return r != '_' && r != '-' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
	}
	if err != nil || id == "" || len(id) > 255 || strings.ContainsFunc(id, notID) {
		return pay.SearchCursor{}, false
	}
	return pay.SearchCursor{Created: n, ID: id}, true
}
