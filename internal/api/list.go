package api

import (
	"github.com/calmony/calmonypay/internal/pay"
)

// newList renders one page of results as a list object of kind items.
func newList[T any](kind, url string, l pay.List[T], view func(T) any) pay.ListObject {
	out := pay.ListObject{Object: "list", Data: make([]any, 0, len(l.Data)), HasMore: l.HasMore, URL: url, Kind: kind}
	for _, v := range l.Data {
		out.Data = append(out.Data, view(v))
	}
	return out
}

// readPage reads limit, starting_after, ending_before and created.
func readPage(p *params) pay.Page {
	page := readCursor(p)
	page.Created = readRange(p, "created")
	return page
}

// readCursor reads limit, starting_after and ending_before, for the lists
// that have no created filter.
func readCursor(p *params) pay.Page {
	page := pay.Page{Limit: readLimit(p)}
	page.StartingAfter, _ = p.String("starting_after")
	page.EndingBefore, _ = p.String("ending_before")
	if page.StartingAfter != "" && page.EndingBefore != "" {
		p.Fail("ending_before", "parameter_invalid", "You may pass only one of starting_after and ending_before.")
	}
	return page
}

// readRange reads a Stripe range filter: name=<ts> or name[gt|gte|lt|lte]=<ts>.
func readRange(p *params, name string) pay.Range {
	var r pay.Range
	if _, isObject := p.values[name].(map[string]any); isObject {
		sub, _ := p.Sub(name)
		r.Gt, r.Gte, r.Lt, r.Lte = sub.OptInt64("gt"), sub.OptInt64("gte"), sub.OptInt64("lt"), sub.OptInt64("lte")
		return r
	}
	if v := p.OptInt64(name); v != nil {
		r.Gte, r.Lte = v, v
	}
	return r
}

// readLimit reads a page's limit: 1 to 100, 10 by default.
func readLimit(p *params) int {
	n, ok := p.Int64("limit")
	if !ok {
		return 10
	}
	if n < 1 || n > 100 {
		p.Fail("limit", "parameter_invalid_integer", "limit must be between 1 and 100.")
	}
	return int(n)
}
