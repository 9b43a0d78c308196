package api

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/calmony/calmonypay/internal/pay"
)

// readText reads an optional string of at most max characters. A pointer to
// "" means the client unset the field.
func readText(p *params, name string, max int) *string {
	v := p.OptString(name)
	if v != nil && utf8.RuneCountInString(*v) > max {
		p.Fail(name, "parameter_invalid_string_too_long", "This value must be at most "+strconv.Itoa(max)+" characters.")
	}
	return v
}

// maxDescriptor is the longest statement descriptor card networks show.
const maxDescriptor = 22

// readDescriptor reads an optional statement descriptor (or suffix) as
// Stripe accepts one: at most maxDescriptor characters, Latin script only, at least one
// letter, and none of < > \ ' " *. A pointer to "" unsets it.
func readDescriptor(p *params, name string) *string {
	v := p.OptString(name)
	if v == nil || *v == "" {
		return v
	}
	letter := false
	for _, r := range *v {
		switch {
		case strings.ContainsRune(`<>\'"*`, r):
			p.Fail(name, "parameter_invalid", name+` cannot contain any of the characters < > \ ' " *.`)
			return v
		case r < ' ' || r > '~' && !unicode.Is(unicode.Latin, r):
			p.Fail(name, "parameter_invalid", name+" can only contain Latin characters.")
			return v
		}
		letter = letter || unicode.IsLetter(r)
	}
	switch {
	case utf8.RuneCountInString(*v) > maxDescriptor:
		p.Fail(name, "parameter_invalid_string_too_long", name+" must be at most "+strconv.Itoa(maxDescriptor)+" characters.")
	case !letter:
		p.Fail(name, "parameter_invalid", name+" must contain at least one letter.")
	}
	return v
}

func oneOf(v string, allowed []string) bool { return slices.Contains(allowed, v) }

// plausibleEmail accepts what Stripe would: one @ with text on both sides and
// no spaces. Real validation is sending mail to it.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n") && !strings.Contains(domain, "@")
}

// readAddress reads an address object from sub.
func readAddress(p interface {
	OptString(string) *string
}, fail func(name string)) pay.Address {
	var a pay.Address
	for _, f := range []struct {
		name string
		dst  *string
	}{{"line1", &a.Line1}, {"line2", &a.Line2}, {"city", &a.City}, {"state", &a.State}, {"postal_code", &a.PostalCode}, {"country", &a.Country}} {
		if v := p.OptString(f.name); v != nil {
			if utf8.RuneCountInString(*v) > 200 {
				fail(f.name)
			}
			*f.dst = *v
		}
	}
	return a
}

// readAddressParam reads an optional address parameter; "address=" unsets it.
func readAddressParam(p *params, name string) **pay.Address {
	if p.Unset(name) {
		var none *pay.Address
		return &none
	}
	sub, ok := p.Sub(name)
	if !ok {
		return nil
	}
	a := readAddress(sub, func(f string) {
		sub.Fail(f, "parameter_invalid_string_too_long", "This value must be at most 200 characters.")
	})
	ap := &a
	return &ap
}

// readShipping reads the customer's shipping details; "shipping=" unsets them.
func readShipping(p *params) **pay.Shipping {
	if p.Unset("shipping") {
		var none *pay.Shipping
		return &none
	}
	sub, ok := p.Sub("shipping")
	if !ok {
		return nil
	}
	var sh pay.Shipping
	if name := sub.OptString("name"); name == nil || *name == "" {
		sub.Missing("name")
	} else {
		sh.Name = *name
	}
	if phone := sub.OptString("phone"); phone != nil {
		sh.Phone = *phone
	}
	addr, ok := sub.Sub("address")
	if !ok {
		sub.Missing("address")
	}
	sh.Address = readAddress(addr, func(f string) {
		addr.Fail(f, "parameter_invalid_string_too_long", "This value must be at most 200 characters.")
	})
	shp := &sh
	return &shp
}

// readMetadata reads the metadata parameter and checks its keys and values;
// the key count is checked by pay.CheckMetadata on the result.
func readMetadata(p *params) pay.MetadataUpdate {
	m, present, cleared := p.Map("metadata")
	if !present {
		return pay.MetadataUpdate{}
	}
	for k, v := range m {
		switch {
		case k == "" || utf8.RuneCountInString(k) > pay.MaxMetadataKeyLen:
			p.Fail("metadata", "parameter_invalid", "Metadata keys must be 1 to 40 characters long.")
		case utf8.RuneCountInString(v) > pay.MaxMetadataValueLen:
			p.Fail("metadata["+k+"]", "parameter_invalid", "Metadata values can have up to 500 characters.")
		}
	}
	return pay.MetadataUpdate{Clear: cleared, Set: m}
}

// readIDList reads an optional list of IDs (tax_rates[], …): nil when not
// sent, empty when unset ("name=").
func readIDList(p *params, name string) *[]string {
	if !p.Has(name) {
		return nil
	}
	if p.Unset(name) {
		return &[]string{}
	}
	if ids, ok := p.StringSlice(name); ok {
		return &ids
	}
	return nil
}

// readClearableString reads an optional string that "name=" unsets: nil
// when not sent, "" when unset.
func readClearableString(p *params, name string) *string {
	if !p.Has(name) {
		return nil
	}
	if p.Unset(name) {
		return new(string)
	}
	return p.OptString(name)
}
