package apidocs

// Resources is the API reference's table: every /v1 endpoint the server
// serves, grouped by resource, in the page's order. Package api's tests
// check it against the route table (see the package comment).
func Resources() []Resource {
	return []Resource{
		customers(), paymentMethods(), paymentIntents(), setupIntents(), charges(), refunds(), checkoutSessions(),
		products(), prices(), taxRates(), invoiceItems(), invoices(), subscriptions(), subscriptionItems(),
		portalSessions(), portalConfigurations(), events(), webhookEndpoints(), testClocks(),
	}
}

func customerChange() []Param {
	return join([]Param{
		opt("email", "string", "Email address (up to 512 characters).", "jenny@example.com"),
		opt("name", "string", "Full name or business name (up to 256 characters).", "Jenny Rosen"),
		opt("phone", "string", "Phone number (up to 40 characters).", "+447700900123"),
		opt("description", "string", "Free text for your own use (up to 5000 characters).", "Wholesale account"),
		oneOf(opt("tax_exempt", "enum", "The customer's tax status.", "none"), "none", "exempt", "reverse"),
	}, address("address"), []Param{}, shipping(), []Param{
		opt("invoice_settings[default_payment_method]", "string", "A payment method attached to the customer, charged for its invoices and subscriptions.", "pm_1Q0PsIJvEtkwdCNY"),
		metadata(),
	})
}

// shipping is the shipping details' parameters: name and address are
// required together.
func shipping() []Param {
	const with = "shipping[name]=Jenny Rosen&shipping[address][line1]=1 High Street"
	ps := []Param{
		opt("shipping[name]", "string", "Shipping: recipient name (required with shipping[address]).", "Jenny Rosen"),
		opt("shipping[phone]", "string", "Shipping: phone number.", "+447700900123"),
	}
	ps = append(ps, address("shipping[address]")...)
	for i := range ps {
		ps[i] = alone(ps[i], with)
	}
	return ps
}

func customers() Resource {
	return Resource{ID: "customers", Name: "Customers",
		About: "A customer (cus_…) holds a buyer's contact details, saved payment methods and default payment method. " +
			"Email, name, phone and addresses are encrypted at rest. A deleted customer keeps answering as {\"id\", \"deleted\": true}.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/customers", Summary: "Create a customer.",
				Params: join(customerChange(), []Param{
					opt("payment_method", "string", "A payment method to attach to the new customer; in test mode a test ID such as pm_card_visa makes a new payment method of its card.", "pm_card_visa"),
					opt("test_clock", "string", "A test clock (test mode) the customer's billing runs on. At creation only.", "clock_1Mr3I2LkdIwHu7ix"),
				}),
				Example: "email=jenny@example.com&name=Jenny Rosen&metadata[order_id]=6735"},
			{Method: "GET", Path: "/v1/customers", Summary: "List customers, newest first.",
				Params:  page(true, opt("email", "string", "Only customers with exactly this email address.", "jenny@example.com")),
				Example: "limit=3"},
			{Method: "GET", Path: "/v1/customers/search", Summary: "Search customers.",
				Params: search("email (exact match), created, metadata", `email:"jenny@example.com"`), Example: `query=email:"jenny@example.com"`},
			{Method: "GET", Path: "/v1/customers/{id}", Summary: "Retrieve a customer."},
			{Method: "POST", Path: "/v1/customers/{id}", Summary: "Update a customer: only the parameters sent change.",
				Params: customerChange(), Example: "phone=+447700900123&metadata[order_id]="},
			{Method: "PATCH", Path: "/v1/customers/{id}", Summary: "Update a customer, as POST /v1/customers/{id}.",
				Params: customerChange(), Example: "name=Jenny Rosen"},
			{Method: "DELETE", Path: "/v1/customers/{id}", Summary: "Delete a customer: its personal data is erased and its payment methods detached."},
			{Method: "GET", Path: "/v1/customers/{customer}/payment_methods", Summary: "List a customer's payment methods.",
				Params: page(true, oneOf(opt("type", "enum", "The only type there is.", "card"), "card")), Example: "type=card"},
		}}
}

func billingDetails() []Param {
	return join([]Param{
		opt("billing_details[name]", "string", "Cardholder name.", "Jenny Rosen"),
		opt("billing_details[email]", "string", "Billing email address.", "jenny@example.com"),
		opt("billing_details[phone]", "string", "Billing phone number.", "+447700900123"),
	}, address("billing_details[address]"))
}

func paymentMethods() Resource {
	return Resource{ID: "payment-methods", Name: "Payment methods",
		About: "A payment method (pm_…) is a card, tokenised with the gateway when it is created: the card number and CVC are never stored. " +
			"In test mode Stripe's test IDs (pm_card_visa, …) can be used wherever a payment method is taken; see Test cards.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/payment_methods", Summary: "Create a card payment method.",
				Params: join([]Param{
					oneOf(req("type", "enum", "The only type supported.", "card"), "card"),
					req("card[number]", "string", "The card number.", "4242424242424242"),
					req("card[exp_month]", "integer", "Expiry month, 1 to 12.", "12"),
					req("card[exp_year]", "integer", "Expiry year, four digits.", "2034"),
					opt("card[cvc]", "string", "Security code: checked with the issuer, never stored.", "123"),
				}, billingDetails(), []Param{metadata()}),
				Example: "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034&card[cvc]=123"},
			{Method: "GET", Path: "/v1/payment_methods", Summary: "List payment methods.",
				Params: page(true,
					opt("customer", "string", "Only the payment methods attached to this customer.", "cus_NffrFeUfNV2Hib"),
					oneOf(opt("type", "enum", "The only type there is.", "card"), "card")),
				Example: "customer=cus_NffrFeUfNV2Hib"},
			{Method: "GET", Path: "/v1/payment_methods/{id}", Summary: "Retrieve a payment method (a test ID such as pm_card_visa answers its test card)."},
			{Method: "POST", Path: "/v1/payment_methods/{id}", Summary: "Update a payment method's billing details, card expiry or metadata.",
				Params: join(billingDetails(), []Param{
					opt("card[exp_month]", "integer", "New expiry month.", "12"),
					opt("card[exp_year]", "integer", "New expiry year.", "2035"),
					metadata(),
				}), Example: "billing_details[name]=Jenny Rosen"},
			{Method: "POST", Path: "/v1/payment_methods/{id}/attach", Summary: "Attach a payment method to a customer.",
				Params:  []Param{req("customer", "string", "The customer to attach it to.", "cus_NffrFeUfNV2Hib")},
				Example: "customer=cus_NffrFeUfNV2Hib"},
			{Method: "POST", Path: "/v1/payment_methods/{id}/detach", Summary: "Detach a payment method from its customer."},
		}}
}

func threeDSOption() Param {
	return oneOf(opt("payment_method_options[card][request_three_d_secure]", "enum",
		"automatic (the default) runs 3-D Secure when the issuer asks, any always attempts it, challenge asks for a challenge.", "any"),
		"automatic", "any", "challenge")
}

func intentChange() []Param {
	return []Param{
		opt("amount", "integer", "Amount in the currency's smallest unit (pence for gbp), positive.", "2000"),
		opt("currency", "string", "Three-letter ISO currency code, lowercase, one the project accepts (gbp by default).", "gbp"),
		opt("customer", "string", "The customer paying.", "cus_NffrFeUfNV2Hib"),
		opt("payment_method", "string", "The payment method to charge (a test ID such as pm_card_visa in test mode).", "pm_card_visa"),
		opt("description", "string", "Free text for your own use.", "Order 6735"),
		opt("statement_descriptor", "string", "Text on the card statement: up to 22 Latin characters, at least one letter, none of < > \\ ' \" *.", "CALMONY SHOP"),
		opt("receipt_email", "string", "Email address the receipt is meant for.", "jenny@example.com"),
		oneOf(opt("capture_method", "enum", "automatic (the default) captures at once; manual authorises now for a capture later.", "manual"), "automatic", "automatic_async", "manual"),
		oneOf(opt("setup_future_usage", "enum", "Save the card for later payments, with or without the customer present.", "off_session"), "on_session", "off_session"),
		opt("payment_method_types[]", "array of strings", "card, the only type supported.", "card"),
		threeDSOption(),
		opt("automatic_payment_methods[enabled]", "boolean", "Accepted for compatibility; cards are the only payment method.", "true"),
		metadata(),
	}
}

func confirmParams() []Param {
	return []Param{
		opt("off_session", "boolean or enum", "true (or one_off, recurring) when the customer is not present: a payment needing authentication fails instead.", "true"),
		opt("return_url", "string", "Where the customer's browser returns after 3-D Secure.", "https://shop.example.com/return"),
		opt("error_on_requires_action", "boolean", "Fail the payment instead of asking for 3-D Secure.", "true"),
	}
}

func paymentIntents() Resource {
	return Resource{ID: "payment-intents", Name: "Payment intents",
		About: "A payment intent (pi_…) collects one payment: create it, confirm it with a payment method (3-D Secure when the issuer asks), " +
			"capture it if it was only authorised. Its charges (ch_…) record each attempt.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/payment_intents", Summary: "Create a payment intent; with confirm=true, also confirm it.",
				Params: join(intentChange(), []Param{
					opt("confirm", "boolean", "Confirm at once (then a payment_method is needed).", "true"),
				}, confirmParams()),
				Example: "amount=2000&currency=gbp&customer=cus_NffrFeUfNV2Hib&payment_method=pm_card_visa&confirm=true"},
			{Method: "GET", Path: "/v1/payment_intents", Summary: "List payment intents.",
				Params:  page(true, opt("customer", "string", "Only this customer's payment intents.", "cus_NffrFeUfNV2Hib")),
				Example: "customer=cus_NffrFeUfNV2Hib&limit=3"},
			{Method: "GET", Path: "/v1/payment_intents/search", Summary: "Search payment intents.",
				Params:  search("amount, created, currency, customer, status, metadata", `status:"succeeded" AND amount>1000`),
				Example: `query=status:"succeeded" AND amount>1000`},
			{Method: "GET", Path: "/v1/payment_intents/{id}", Summary: "Retrieve a payment intent.",
				Params: []Param{opt("client_secret", "string", "The payment intent's client secret; when given, it must match.", "pi_3MtwBwLkdIwHu7ix_secret_YrKJUKribcBjcG8HVhfZluoGH")}},
			{Method: "POST", Path: "/v1/payment_intents/{id}", Summary: "Update a payment intent that awaits a payment method or confirmation.",
				Params: intentChange(), Example: "description=Order 6735&metadata[order_id]=6735"},
			{Method: "POST", Path: "/v1/payment_intents/{id}/confirm", Summary: "Confirm a payment intent: charge (or authorise) its payment method.",
				Params: join([]Param{
					opt("payment_method", "string", "The payment method to charge, if not set before.", "pm_card_visa"),
					opt("receipt_email", "string", "Email address the receipt is meant for.", "jenny@example.com"),
					threeDSOption(),
				}, confirmParams()),
				Example: "payment_method=pm_card_visa&return_url=https://shop.example.com/return"},
			{Method: "POST", Path: "/v1/payment_intents/{id}/capture", Summary: "Capture an authorised payment intent (capture_method=manual).",
				Params: []Param{
					opt("amount_to_capture", "integer", "Amount to capture, at most amount_capturable. Default: all of it.", "1500"),
					opt("statement_descriptor", "string", "Text on the card statement.", "CALMONY SHOP"),
					opt("statement_descriptor_suffix", "string", "Suffix of the statement text.", "ORDER 6735"),
					metadata(),
				}, Example: "amount_to_capture=1500"},
			{Method: "POST", Path: "/v1/payment_intents/{id}/cancel", Summary: "Cancel a payment intent; an authorisation is released.",
				Params:  []Param{oneOf(opt("cancellation_reason", "enum", "Why it is canceled.", "requested_by_customer"), "duplicate", "fraudulent", "requested_by_customer", "abandoned")},
				Example: "cancellation_reason=requested_by_customer"},
		}}
}

func setupChange() []Param {
	return []Param{
		opt("customer", "string", "The customer the card is saved for.", "cus_NffrFeUfNV2Hib"),
		opt("payment_method", "string", "The payment method to set up.", "pm_card_visa"),
		opt("description", "string", "Free text for your own use.", "Card for renewals"),
		opt("payment_method_types[]", "array of strings", "card, the only type supported.", "card"),
		threeDSOption(),
		opt("automatic_payment_methods[enabled]", "boolean", "Accepted for compatibility; cards are the only payment method.", "true"),
		metadata(),
	}
}

func setupIntents() Resource {
	return Resource{ID: "setup-intents", Name: "Setup intents",
		About: "A setup intent (seti_…) saves a card for later payments without charging it: the card is verified (amount 0), " +
			"with 3-D Secure when the issuer asks, attached to the customer and set up for off-session payments.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/setup_intents", Summary: "Create a setup intent; with confirm=true, also confirm it.",
				Params: join(setupChange(), []Param{
					oneOf(opt("usage", "enum", "How the card will be used: off_session (the default) or on_session. At creation only.", "off_session"), "off_session", "on_session"),
					opt("confirm", "boolean", "Confirm at once.", "true"),
					opt("return_url", "string", "Where the customer's browser returns after 3-D Secure.", "https://shop.example.com/return"),
				}),
				Example: "customer=cus_NffrFeUfNV2Hib&payment_method=pm_card_visa&confirm=true"},
			{Method: "GET", Path: "/v1/setup_intents", Summary: "List setup intents.",
				Params:  page(true, opt("customer", "string", "Only this customer's setup intents.", "cus_NffrFeUfNV2Hib")),
				Example: "customer=cus_NffrFeUfNV2Hib"},
			{Method: "GET", Path: "/v1/setup_intents/{id}", Summary: "Retrieve a setup intent.",
				Params: []Param{opt("client_secret", "string", "The setup intent's client secret; when given, it must match.", "seti_1Mm8s8LkdIwHu7ix_secret_NXDeM8eb9OcdRKx")}},
			{Method: "POST", Path: "/v1/setup_intents/{id}", Summary: "Update a setup intent.",
				Params: setupChange(), Example: "metadata[plan]=gold"},
			{Method: "POST", Path: "/v1/setup_intents/{id}/confirm", Summary: "Confirm a setup intent: verify and save the card.",
				Params: []Param{
					opt("payment_method", "string", "The payment method to set up, if not set before.", "pm_card_visa"),
					opt("return_url", "string", "Where the customer's browser returns after 3-D Secure.", "https://shop.example.com/return"),
					threeDSOption(),
				}, Example: "payment_method=pm_card_visa"},
			{Method: "POST", Path: "/v1/setup_intents/{id}/cancel", Summary: "Cancel a setup intent.",
				Params:  []Param{oneOf(opt("cancellation_reason", "enum", "Why it is canceled.", "abandoned"), "abandoned", "requested_by_customer", "duplicate")},
				Example: "cancellation_reason=abandoned"},
		}}
}

func charges() Resource {
	return Resource{ID: "charges", Name: "Charges",
		About: "A charge (ch_…) is one attempt to charge a payment intent's card, with its outcome, the card checks and the amounts captured and refunded.",
		Endpoints: []Endpoint{
			{Method: "GET", Path: "/v1/charges", Summary: "List charges.",
				Params: page(true,
					opt("customer", "string", "Only this customer's charges.", "cus_NffrFeUfNV2Hib"),
					opt("payment_intent", "string", "Only this payment intent's charges.", "pi_3MtwBwLkdIwHu7ix")),
				Example: "payment_intent=pi_3MtwBwLkdIwHu7ix"},
			{Method: "GET", Path: "/v1/charges/search", Summary: "Search charges.",
				Params:  search("amount, created, currency, customer, payment_intent, status, metadata", `customer:"cus_NffrFeUfNV2Hib"`),
				Example: `query=customer:"cus_NffrFeUfNV2Hib"`},
			{Method: "GET", Path: "/v1/charges/{id}", Summary: "Retrieve a charge."},
			{Method: "POST", Path: "/v1/charges/{id}", Summary: "Update a charge's description or metadata.",
				Params: []Param{
					opt("description", "string", "Free text for your own use.", "Order 6735"),
					metadata(),
				}, Example: "description=Order 6735"},
		}}
}

func refunds() Resource {
	return Resource{ID: "refunds", Name: "Refunds",
		About: "A refund (re_…) gives back all or part of a charge. Several partial refunds are allowed, up to the amount captured.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/refunds", Summary: "Refund a payment intent's charge.",
				Params: []Param{
					opt("payment_intent", "string", "The payment intent to refund (this or charge is required).", "pi_3MtwBwLkdIwHu7ix"),
					alone(opt("charge", "string", "The charge to refund, instead of payment_intent.", "ch_3MmlLrLkdIwHu7ix"), ""),
					opt("amount", "integer", "Amount to refund, positive. Default: all that is left.", "500"),
					oneOf(opt("reason", "enum", "Why it is refunded.", "requested_by_customer"), "duplicate", "fraudulent", "requested_by_customer"),
					metadata(),
				}, Example: "payment_intent=pi_3MtwBwLkdIwHu7ix&amount=500"},
			{Method: "GET", Path: "/v1/refunds", Summary: "List refunds.",
				Params: page(true,
					opt("charge", "string", "Only this charge's refunds.", "ch_3MmlLrLkdIwHu7ix"),
					opt("payment_intent", "string", "Only this payment intent's refunds.", "pi_3MtwBwLkdIwHu7ix")),
				Example: "payment_intent=pi_3MtwBwLkdIwHu7ix"},
			{Method: "GET", Path: "/v1/refunds/{id}", Summary: "Retrieve a refund."},
			{Method: "POST", Path: "/v1/refunds/{id}", Summary: "Update a refund's metadata.",
				Params: []Param{metadata()}, Example: "metadata[ticket]=4512"},
		}}
}

func checkoutSessions() Resource {
	return Resource{ID: "checkout-sessions", Name: "Checkout sessions",
		About: "A checkout session (cs_…) is a hosted payment page: send the customer to its url; when they pay, it completes and " +
			"checkout.session.completed is emitted. A session expires after 30 minutes unless expires_at or expires_in says otherwise.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/checkout/sessions", Summary: "Create a checkout session.",
				Params: []Param{
					oneOf(req("mode", "enum", "The only mode supported.", "payment"), "payment"),
					req("line_items[0][price_data][currency]", "string", "Each line item's currency; all must be the same.", "gbp"),
					req("line_items[0][price_data][unit_amount]", "integer", "Each line item's unit price in the smallest unit, 0 to 99999999.", "1500"),
					req("line_items[0][price_data][product_data][name]", "string", "Each line item's name (up to 250 characters).", "T-shirt"),
					opt("line_items[0][price_data][product_data][description]", "string", "Each line item's description.", "Organic cotton"),
					opt("line_items[0][quantity]", "integer", "Each line item's quantity, 1 to 999999. Default 1.", "2"),
					req("success_url", "string", "Where the customer goes after paying: an absolute https URL to a public host.", "https://shop.example.com/success"),
					opt("cancel_url", "string", "Where the customer goes if they go back.", "https://shop.example.com/cart"),
					opt("customer", "string", "An existing customer.", "cus_NffrFeUfNV2Hib"),
					opt("customer_email", "string", "The customer's email address, instead of customer.", "jenny@example.com"),
					opt("client_reference_id", "string", "Your own reference for the session.", "order_6735"),
					opt("expires_at", "timestamp", "When the session expires (unix seconds): between 5 minutes and 24 hours from now. Default: in 30 minutes.", "1893456000"),
					opt("expires_in", "integer", "Seconds until the session expires (300 to 86400), instead of expires_at.", "3600"),
					opt("payment_intent_data[description]", "string", "Description of the payment intent the session makes.", "Order 6735"),
					oneOf(opt("payment_intent_data[capture_method]", "enum", "How the payment intent is captured.", "manual"), "automatic", "automatic_async", "manual"),
					opt("payment_intent_data[statement_descriptor]", "string", "Text on the card statement.", "CALMONY SHOP"),
					opt("payment_intent_data[metadata][key]", "string", "Metadata of the payment intent.", "6735"),
					oneOf(opt("ui_mode", "enum", "The only mode supported: a hosted page.", "hosted"), "hosted"),
					opt("payment_method_types[]", "array of strings", "card, the only type supported.", "card"),
					oneOf(opt("submit_type", "enum", "The pay button's label; accepted and left to the gateway's page.", "pay"), "auto", "book", "donate", "pay", "subscribe"),
					oneOf(opt("billing_address_collection", "enum", "The only value supported: the page collects no billing address.", "auto"), "auto"),
					opt("locale", "string", "Accepted; the page's language is the gateway's.", "en"),
					metadata(),
				},
				Example: "mode=payment&line_items[0][price_data][currency]=gbp&line_items[0][price_data][unit_amount]=1500&" +
					"line_items[0][price_data][product_data][name]=T-shirt&line_items[0][quantity]=2&success_url=https://shop.example.com/success"},
			{Method: "GET", Path: "/v1/checkout/sessions", Summary: "List checkout sessions.",
				Params:  page(true, opt("payment_intent", "string", "Only the session that made this payment intent.", "pi_3MtwBwLkdIwHu7ix")),
				Example: "limit=3"},
			{Method: "GET", Path: "/v1/checkout/sessions/{id}", Summary: "Retrieve a checkout session (expand[]=line_items to include them)."},
			{Method: "GET", Path: "/v1/checkout/sessions/{id}/line_items", Summary: "List a checkout session's line items.",
				Params: page(true)},
			{Method: "POST", Path: "/v1/checkout/sessions/{id}/expire", Summary: "Expire an open checkout session, so it can no longer be paid."},
		}}
}
