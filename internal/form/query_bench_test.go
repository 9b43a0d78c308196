package form

import "testing"

// BenchmarkParseQuery decodes request bodies of the shapes the API gets most.
func BenchmarkParseQuery(b *testing.B) {
	for _, bb := range []struct{ name, body string }{
		{"customer", "email=jenny.rosen%40example.com&name=Jenny+Rosen&metadata[order_id]=6735&metadata[source]=web"},
		{"card", "type=card&card[number]=4929421234600821&card[exp_month]=12&card[exp_year]=2028&card[cvc]=356"},
		{"checkout", "mode=payment&line_items[0][price_data][currency]=gbp&line_items[0][price_data][unit_amount]=1000" +
			"&line_items[0][price_data][product_data][name]=T-shirt&line_items[0][quantity]=1" +
			"&success_url=https%3A%2F%2Fexample.com%2Fsuccess&cancel_url=https%3A%2F%2Fexample.com%2Fcancel&expand[]=payment_intent"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				if _, err := ParseQuery(bb.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
