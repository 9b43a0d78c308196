package apidocs

func productChange() []Param {
	return []Param{
		opt("active", "boolean", "Whether the product can be sold. Default true.", "true"),
		opt("description", "string", "Description shown to customers.", "Monthly coffee delivery"),
		opt("statement_descriptor", "string", "Text on the card statement.", "CALMONY COFFEE"),
		opt("unit_label", "string", "Label of one unit, shown on invoices.", "bag"),
		opt("url", "string", "An absolute http or https URL of the product's page.", "https://shop.example.com/coffee"),
		opt("images[]", "array of strings", "URLs of images of the product.", "https://shop.example.com/coffee.png"),
		opt("marketing_features[0][name]", "string", "Each marketing feature's name.", "Free delivery"),
		metadata(),
	}
}

func products() Resource {
	return Resource{ID: "products", Name: "Products",
		About: "A product (prod_…) is what you sell; its prices say how much and how often.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/products", Summary: "Create a product.",
				Params: join([]Param{
					req("name", "string", "The product's name, shown to customers.", "Coffee subscription"),
					opt("id", "string", "Your own ID for the product (letters, digits, _ and -). Default: a generated prod_… ID.", "coffee_monthly"),
					opt("default_price_data[currency]", "string", "Create a default price too: its currency.", "gbp"),
					opt("default_price_data[unit_amount]", "integer", "The default price's unit amount in the smallest unit.", "1000"),
					oneOf(opt("default_price_data[recurring][interval]", "enum", "The default price's billing interval.", "month"), "day", "week", "month", "year"),
				}, productChange()),
				Example: "name=Coffee subscription&default_price_data[currency]=gbp&default_price_data[unit_amount]=1000&default_price_data[recurring][interval]=month"},
			{Method: "GET", Path: "/v1/products", Summary: "List products.",
				Params: page(true,
					opt("active", "boolean", "Only active (or inactive) products.", "true"),
					opt("ids[]", "array of strings", "Only these products.", "prod_NWjs8kKbJWmuuc"),
					opt("url", "string", "Only the product with this url.", "https://shop.example.com/coffee"),
					opt("shippable", "boolean", "Only shippable products: there are none, every product is a service.", "false"),
					oneOf(opt("type", "enum", "Only products of this type: every product is a service.", "service"), "service", "good")),
				Example: "active=true"},
			{Method: "GET", Path: "/v1/products/search", Summary: "Search products.",
				Params: search("active, created, description, metadata, name, url", `active:"true"`), Example: `query=active:"true"`},
			{Method: "GET", Path: "/v1/products/{id}", Summary: "Retrieve a product."},
			{Method: "POST", Path: "/v1/products/{id}", Summary: "Update a product.",
				Params: join([]Param{
					opt("name", "string", "The product's name.", "Coffee subscription"),
					opt("default_price", "string", "A price of the product to make its default.", "price_1MoBy5LkdIwHu7ix"),
				}, productChange()), Example: "active=false"},
			{Method: "DELETE", Path: "/v1/products/{id}", Summary: "Delete a product that has no prices (one with prices can only be archived with active=false)."},
		}}
}

func prices() Resource {
	return Resource{ID: "prices", Name: "Prices",
		About: "A price (price_…) is a product's unit amount in one currency, once or on a recurring interval. " +
			"Its amount, currency, product and recurrence cannot change: create a new price and deactivate the old one.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/prices", Summary: "Create a price.",
				Params: []Param{
					req("currency", "string", "Three-letter ISO currency code, lowercase.", "gbp"),
					req("unit_amount", "integer", "Amount in the smallest unit (or unit_amount_decimal).", "1000"),
					opt("product", "string", "The product (this or product_data is required).", "prod_NWjs8kKbJWmuuc"),
					alone(opt("product_data[name]", "string", "Create a product for the price, with this name, instead of product.", "Coffee"),
						"currency=gbp&unit_amount=1000"),
					oneOf(opt("recurring[interval]", "enum", "For a recurring price: its billing interval.", "month"), "day", "week", "month", "year"),
					opt("recurring[interval_count]", "integer", "Intervals between billings. Default 1.", "3"),
					opt("recurring[trial_period_days]", "integer", "Days of free trial for subscriptions to the price.", "14"),
					oneOf(opt("recurring[usage_type]", "enum", "Only licensed (per-seat) prices are offered.", "licensed"), "licensed"),
					alone(opt("unit_amount_decimal", "string", "The amount as a decimal string instead of unit_amount: a whole number of the smallest unit.", "1000"),
						"currency=gbp&product=prod_NWjs8kKbJWmuuc"),
					alone(opt("product_data[unit_label]", "string", "The new product's unit label.", "bag"), "currency=gbp&unit_amount=1000&product_data[name]=Coffee"),
					alone(opt("product_data[statement_descriptor]", "string", "The new product's statement descriptor.", "CALMONY COFFEE"), "currency=gbp&unit_amount=1000&product_data[name]=Coffee"),
					opt("active", "boolean", "Whether the price can be used. Default true.", "true"),
					opt("lookup_key", "string", "Your own key to find the price by.", "coffee_monthly"),
					opt("transfer_lookup_key", "boolean", "Move lookup_key from the price that has it.", "true"),
					opt("nickname", "string", "A name not shown to customers.", "Monthly"),
					oneOf(opt("tax_behavior", "enum", "Whether the amount includes tax; once inclusive or exclusive it cannot change.", "exclusive"), "exclusive", "inclusive", "unspecified"),
					metadata(),
				},
				Example: "currency=gbp&unit_amount=1000&product=prod_NWjs8kKbJWmuuc&recurring[interval]=month"},
			{Method: "GET", Path: "/v1/prices", Summary: "List prices.",
				Params: page(true,
					opt("active", "boolean", "Only active (or inactive) prices.", "true"),
					opt("currency", "string", "Only prices in this currency.", "gbp"),
					opt("product", "string", "Only this product's prices.", "prod_NWjs8kKbJWmuuc"),
					oneOf(opt("type", "enum", "Only one-time or only recurring prices.", "recurring"), "one_time", "recurring"),
					opt("lookup_keys[]", "array of strings", "Only the prices with these lookup keys.", "coffee_monthly")),
				Example: "product=prod_NWjs8kKbJWmuuc"},
			{Method: "GET", Path: "/v1/prices/search", Summary: "Search prices.",
				Params: search("active, created, currency, lookup_key, metadata, product, type (one_time or recurring)", `currency:"gbp"`), Example: `query=currency:"gbp"`},
			{Method: "GET", Path: "/v1/prices/{id}", Summary: "Retrieve a price."},
			{Method: "POST", Path: "/v1/prices/{id}", Summary: "Update a price's active flag, lookup key, nickname, tax behaviour or metadata.",
				Params: []Param{
					opt("active", "boolean", "Whether the price can be used.", "false"),
					opt("lookup_key", "string", "Your own key to find the price by.", "coffee_monthly"),
					opt("transfer_lookup_key", "boolean", "Move lookup_key from the price that has it.", "true"),
					opt("nickname", "string", "A name not shown to customers.", "Monthly"),
					oneOf(opt("tax_behavior", "enum", "Whether the amount includes tax; once inclusive or exclusive it cannot change.", "exclusive"), "exclusive", "inclusive", "unspecified"),
					metadata(),
				}, Example: "active=false"},
		}}
}

func taxRates() Resource {
	return Resource{ID: "tax-rates", Name: "Tax rates",
		About: "A tax rate (txr_…) is a percentage applied to invoice lines, inclusive or exclusive. " +
			"Its percentage and inclusive cannot change once created: create a new rate and archive the old one with active=false.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/tax_rates", Summary: "Create a tax rate.",
				Params: join([]Param{
					req("display_name", "string", "The name shown on invoices.", "VAT"),
					req("percentage", "decimal", "The rate, in percent.", "20"),
					req("inclusive", "boolean", "Whether amounts already include the tax.", "false"),
				}, taxRateChange()),
				Example: "display_name=VAT&percentage=20&inclusive=false&country=GB"},
			{Method: "GET", Path: "/v1/tax_rates", Summary: "List tax rates.",
				Params: page(true,
					opt("active", "boolean", "Only active (or archived) rates.", "true"),
					opt("inclusive", "boolean", "Only inclusive (or exclusive) rates.", "false")),
				Example: "active=true"},
			{Method: "GET", Path: "/v1/tax_rates/{id}", Summary: "Retrieve a tax rate."},
			{Method: "POST", Path: "/v1/tax_rates/{id}", Summary: "Update a tax rate.",
				Params: join([]Param{opt("display_name", "string", "The name shown on invoices.", "VAT")}, taxRateChange()), Example: "active=false"},
		}}
}

func taxRateChange() []Param {
	return []Param{
		opt("active", "boolean", "Whether the rate can be applied. Default true.", "true"),
		opt("description", "string", "A description for your own use.", "UK VAT standard rate"),
		opt("jurisdiction", "string", "The jurisdiction's name, shown on invoices.", "UK"),
		opt("country", "string", "Two-letter country code.", "GB"),
		opt("state", "string", "State or region code.", "ENG"),
		oneOf(opt("tax_type", "enum", "The kind of tax.", "vat"), "amusement_tax", "communications_tax", "gst", "hst", "igst", "jct", "lease_tax", "pst", "qst", "retail_delivery_fee", "rst", "sales_tax", "service_tax", "vat"),
		oneOf(opt("jurisdiction_level", "enum", "The level of the jurisdiction.", "country"), "city", "country", "county", "district", "multiple", "state"),
		metadata(),
	}
}

// invoiceItemChange is an invoice item's parameters; base is what the
// test sends with the ones that replace price.
func invoiceItemChange(base string) []Param {
	const period = "period[start]=1700000000&period[end]=1702592000"
	return []Param{
		opt("price", "string", "A price to bill (this, amount with currency, or price_data is required).", "price_1MoBy5LkdIwHu7ix"),
		alone(opt("amount", "integer", "An amount to bill, in the smallest unit, instead of price.", "500"), base+"currency=gbp"),
		alone(opt("currency", "string", "The currency of amount.", "gbp"), base+"amount=500"),
		alone(opt("price_data[unit_amount]", "integer", "An ad hoc price instead of price: its unit amount.", "500"),
			base+"price_data[currency]=gbp&price_data[product]=prod_NWjs8kKbJWmuuc"),
		alone(opt("price_data[currency]", "string", "The ad hoc price's currency.", "gbp"),
			base+"price_data[unit_amount]=500&price_data[product]=prod_NWjs8kKbJWmuuc"),
		alone(opt("price_data[product]", "string", "The ad hoc price's product.", "prod_NWjs8kKbJWmuuc"),
			base+"price_data[unit_amount]=500&price_data[currency]=gbp"),
		opt("quantity", "integer", "Quantity of price. Default 1.", "2"),
		opt("description", "string", "The line's description on the invoice.", "Setup fee"),
		alone(opt("period[start]", "timestamp", "Start of the period the item is for (with period[end]).", "1700000000"), base+"price=price_1MoBy5LkdIwHu7ix&"+period),
		alone(opt("period[end]", "timestamp", "End of that period (with period[start]).", "1702592000"), base+"price=price_1MoBy5LkdIwHu7ix&"+period),
		opt("tax_rates[]", "array of strings", "Tax rates applied to the item.", "txr_1MzS4RLkdIwHu7ix"),
		metadata(),
	}
}

func invoiceItems() Resource {
	return Resource{ID: "invoice-items", Name: "Invoice items",
		About: "An invoice item (ii_…) is a line waiting to be billed: on the customer's next invoice, or on the draft invoice named.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/invoiceitems", Summary: "Create an invoice item.",
				Params: join([]Param{
					req("customer", "string", "The customer billed.", "cus_NffrFeUfNV2Hib"),
					opt("invoice", "string", "A draft invoice to add it to. Default: the customer's next invoice.", "in_1MtHbELkdIwHu7ix"),
				}, invoiceItemChange("customer=cus_NffrFeUfNV2Hib&")),
				Example: "customer=cus_NffrFeUfNV2Hib&price=price_1MoBy5LkdIwHu7ix"},
			{Method: "GET", Path: "/v1/invoiceitems", Summary: "List invoice items.",
				Params: page(true,
					opt("customer", "string", "Only this customer's items.", "cus_NffrFeUfNV2Hib"),
					opt("invoice", "string", "Only this invoice's items.", "in_1MtHbELkdIwHu7ix"),
					opt("pending", "boolean", "Only items not yet on an invoice (or only those on one).", "true")),
				Example: "customer=cus_NffrFeUfNV2Hib&pending=true"},
			{Method: "GET", Path: "/v1/invoiceitems/{id}", Summary: "Retrieve an invoice item."},
			{Method: "POST", Path: "/v1/invoiceitems/{id}", Summary: "Update an invoice item that is pending or on a draft invoice.",
				Params: invoiceItemChange(""), Example: "quantity=3"},
			{Method: "DELETE", Path: "/v1/invoiceitems/{id}", Summary: "Delete an invoice item that is pending or on a draft invoice."},
		}}
}

// invoiceChange is an invoice's parameters; base is what the test sends
// with due_date.
func invoiceChange(base string) []Param {
	return []Param{
		opt("auto_advance", "boolean", "Whether the invoice finalizes and is charged by itself.", "false"),
		oneOf(opt("collection_method", "enum", "charge_automatically (the default) charges the payment method; send_invoice sends the invoice to be paid.", "send_invoice"), "charge_automatically", "send_invoice"),
		opt("days_until_due", "integer", "For send_invoice: days until it is due.", "30"),
		alone(opt("due_date", "timestamp", "For send_invoice: when it is due, instead of days_until_due.", "1893456000"), base+"collection_method=send_invoice"),
		opt("default_payment_method", "string", "The payment method to charge.", "pm_1Q0PsIJvEtkwdCNY"),
		opt("default_tax_rates[]", "array of strings", "Tax rates applied to lines that have none.", "txr_1MzS4RLkdIwHu7ix"),
		opt("description", "string", "Memo shown on the invoice.", "Thanks for your business"),
		opt("footer", "string", "Footer shown on the invoice.", "Registered in England"),
		metadata(),
	}
}

func invoices() Resource {
	return Resource{ID: "invoices", Name: "Invoices",
		About: "An invoice (in_…) bills a customer: a draft is finalized (numbered, with a hosted page and a PDF), then paid by card, " +
			"sent, voided or marked uncollectible.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/invoices", Summary: "Create a draft invoice.",
				Params: join([]Param{
					req("customer", "string", "The customer billed.", "cus_NffrFeUfNV2Hib"),
					opt("currency", "string", "The invoice's currency. Default: the project's.", "gbp"),
					oneOf(opt("pending_invoice_items_behavior", "enum", "Whether the customer's pending invoice items go on the invoice.", "include"), "include", "exclude"),
				}, invoiceChange("customer=cus_NffrFeUfNV2Hib&")),
				Example: "customer=cus_NffrFeUfNV2Hib&collection_method=send_invoice&days_until_due=30"},
			{Method: "GET", Path: "/v1/invoices", Summary: "List invoices.",
				Params: page(true,
					opt("customer", "string", "Only this customer's invoices.", "cus_NffrFeUfNV2Hib"),
					opt("subscription", "string", "Only this subscription's invoices.", "sub_1MowQVLkdIwHu7ix"),
					oneOf(opt("status", "enum", "Only invoices in this status.", "open"), "draft", "open", "paid", "uncollectible", "void"),
					oneOf(opt("collection_method", "enum", "Only invoices collected this way.", "send_invoice"), "charge_automatically", "send_invoice")),
				Example: "customer=cus_NffrFeUfNV2Hib&status=open"},
			{Method: "GET", Path: "/v1/invoices/{id}", Summary: "Retrieve an invoice."},
			{Method: "POST", Path: "/v1/invoices/{id}", Summary: "Update an invoice.", Params: invoiceChange(""), Example: "description=Thanks for your business"},
			{Method: "DELETE", Path: "/v1/invoices/{id}", Summary: "Delete a draft invoice."},
			{Method: "GET", Path: "/v1/invoices/{id}/lines", Summary: "List an invoice's lines.", Params: page(false)},
			{Method: "GET", Path: "/v1/invoices/{id}/pdf", Summary: "Answer {\"url\"}: where the finalized invoice's PDF is."},
			{Method: "POST", Path: "/v1/invoices/{id}/finalize", Summary: "Finalize a draft invoice.",
				Params: []Param{opt("auto_advance", "boolean", "Whether it is then charged by itself.", "false")}},
			{Method: "POST", Path: "/v1/invoices/{id}/pay", Summary: "Pay an open invoice: charge its payment method, or mark it paid out of band.",
				Params: []Param{
					opt("payment_method", "string", "The payment method to charge. Default: the invoice's, then the customer's.", "pm_card_visa"),
					alone(opt("paid_out_of_band", "boolean", "Mark it paid without charging (not with payment_method).", "true"), ""),
					opt("off_session", "boolean", "Whether the customer is away. Default true.", "true"),
				}, Example: "payment_method=pm_card_visa"},
			{Method: "POST", Path: "/v1/invoices/{id}/void", Summary: "Void an open invoice."},
			{Method: "POST", Path: "/v1/invoices/{id}/mark_uncollectible", Summary: "Mark an open invoice uncollectible."},
			{Method: "POST", Path: "/v1/invoices/{id}/send", Summary: "Send an open send_invoice invoice to the customer."},
		}}
}
