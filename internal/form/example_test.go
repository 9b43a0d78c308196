package form_test

import (
	"errors"
	"fmt"

	"github.com/calmony/calmonypay/internal/form"
)

func Example() {
	// In a handler: v, err := form.Decode(r, form.DefaultMaxBytes)
	v, err := form.ParseQuery("amount=2000&currency=gbp&metadata[order]=42&address[lin1]=x&expand[]=customer")
	if err != nil {
		fmt.Println(err)
		return
	}
	r := form.NewReader(v)
	amount := r.RequireInt64("amount")
	currency := r.RequireString("currency")
	metadata, _, _ := r.Map("metadata")
	if addr, ok := r.Sub("address"); ok {
		addr.OptString("line1")
	}
	r.Ignore("expand")
	fmt.Println(amount, currency, metadata)
	if e, ok := errors.AsType[*form.Error](r.Err()); ok {
		fmt.Printf("%s %s: %s\n", e.Code, e.Param, e.Message)
	}
	// Output:
	// 2000 gbp map[order:42]
	// parameter_unknown address[lin1]: Received unknown parameter: address[lin1]
}
