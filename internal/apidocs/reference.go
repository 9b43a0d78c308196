package apidocs

// Helpers that build the table's parameters.

func opt(name, typ, about, example string) Param {
	return Param{Name: name, Type: typ, About: about, Example: example}
}

func req(name, typ, about, example string) Param {
	return Param{Name: name, Type: typ, Required: true, About: about, Example: example}
}

// alone is opt for a parameter that the test sends with body instead of
// the endpoint's example.
func alone(p Param, body string) Param { p.Alone, p.AloneWith = true, body; return p }

// oneOf is p, an enum, with the values it takes; the test sends each.
func oneOf(p Param, values ...string) Param {
	p.Values = values
	return p
}

func metadata() Param {
	return opt("metadata[key]", "string", "Set of key-value pairs (up to 50 keys; keys up to 40 characters, values up to 500). "+
		"An empty value deletes the key; metadata= deletes them all.", "order_6735")
}

// page is a list's pagination parameters; created adds the created filter.
func page(created bool, more ...Param) []Param {
	ps := []Param{
		opt("limit", "integer", "Number of objects to return, 1 to 100. Default 10.", "3"),
		opt("starting_after", "string", "An object ID: the page after it (newest first).", "x_1"),
		opt("ending_before", "string", "An object ID: the page before it.", "x_1"),
	}
	if created {
		ps = append(ps, opt("created[gte]", "timestamp", "Only objects created in a range: created (exact), created[gt], created[gte], created[lt], created[lte], in unix seconds.", "1700000000"))
	}
	return append(ps, more...)
}

// search is a search endpoint's parameters; fields lists what query may name.
func search(fields, example string) []Param {
	return []Param{
		req("query", "string", "A query in Stripe's search query language: field:value, field>value (numbers), metadata['key']:'value', "+
			"field:null, - to negate, joined by spaces, AND or OR (at most 10 clauses). Fields: "+fields+".", example),
		opt("limit", "integer", "Number of results, 1 to 100. Default 10.", "10"),
		opt("page", "string", "The next_page token of the previous page of the same search.", ""),
	}
}

func address(prefix string) []Param {
	var ps []Param
	for _, f := range []struct{ name, about, example string }{
		{"line1", "Address line 1.", "1 High Street"},
		{"line2", "Address line 2.", "Flat 2"},
		{"city", "City or town.", "London"},
		{"state", "State, county or region.", "Greater London"},
		{"postal_code", "Postal code.", "SW1A 1AA"},
		{"country", "Two-letter country code (ISO 3166-1 alpha-2).", "GB"},
	} {
		ps = append(ps, opt(prefix+"["+f.name+"]", "string", f.about, f.example))
	}
	return ps
}

func join(groups ...[]Param) []Param {
	var out []Param
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
