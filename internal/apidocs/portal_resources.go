package apidocs

// The customer portal's resources (billing_portal).

func portalSessions() Resource {
	return Resource{ID: "billing-portal-sessions", Name: "Customer portal sessions",
		About: "A portal session (bps_…) gives one customer access to the customer portal at its url (/portal/…) for 24 hours " +
			"(Stripe's last minutes): invoices and their PDFs, subscriptions (cancel, resume, switch price, as its configuration " +
			"allows), the default card and billing details. The url holds a 256-bit token that only this answer shows: the server " +
			"keeps its hash, and the billing_portal.session.created event shows url null. Revoke a customer's sessions with " +
			"calmonypay portal revoke.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/billing_portal/sessions", Summary: "Create a portal session for a customer.",
				Params: []Param{
					req("customer", "string", "The customer (not deleted).", "cus_NffrFeUfNV2Hib"),
					opt("return_url", "string", "Where the portal's \"Return to\" link goes: an absolute https URL to a public host. "+
						"Default: the configuration's default_return_url.", "https://shop.example.com/account"),
					opt("configuration", "string", "A configuration (active) to use instead of the default one. Without a default, "+
						"one is made: invoice history, card replacement, email and address, cancel at period end.", "bpc_1MwpL4LkdIwHu7ix"),
					opt("locale", "string", "Accepted; the portal is in English.", "auto"),
				},
				Example: "customer=cus_NffrFeUfNV2Hib&return_url=https://shop.example.com/account"},
		}}
}

func portalConfigurations() Resource {
	return Resource{ID: "billing-portal-configurations", Name: "Customer portal configurations",
		About: "A configuration (bpc_…) says what portal sessions let customers do. The first one created (or the one made for a " +
			"project's first session) is the default; is_default=true makes another the default.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/billing_portal/configurations", Summary: "Create a configuration.",
				Params: portalConfigParams(), Example: "features[invoice_history][enabled]=true&features[payment_method_update][enabled]=true"},
			{Method: "GET", Path: "/v1/billing_portal/configurations", Summary: "List configurations.",
				Params: page(false,
					opt("active", "boolean", "Only active (or inactive) configurations.", "true"),
					opt("is_default", "boolean", "Only the default configuration (or the others).", "true")),
				Example: "active=true"},
			{Method: "GET", Path: "/v1/billing_portal/configurations/{id}", Summary: "Retrieve a configuration."},
			{Method: "POST", Path: "/v1/billing_portal/configurations/{id}", Summary: "Update a configuration.",
				Params: join([]Param{opt("active", "boolean", "Whether sessions may use it (the default cannot be deactivated).", "true")},
					portalConfigParams()),
				Example: "features[subscription_cancel][mode]=immediately"},
		}}
}

func portalConfigParams() []Param {
	const sc, su = "features[subscription_cancel]", "features[subscription_update]"
	return []Param{
		opt("is_default", "boolean", "Make this the default configuration (Calmony Pay's; Stripe sets it in its Dashboard).", "true"),
		opt("name", "string", "A name for your own use.", "Standard"),
		opt("default_return_url", "string", "The portal's return link when a session names none: an absolute https URL to a public host.",
			"https://shop.example.com/account"),
		opt("business_profile[headline]", "string", "Shown at the top of the portal (up to 60 characters).", "Acme: manage your plan"),
		opt("business_profile[privacy_policy_url]", "string", "A link shown in the portal.", "https://shop.example.com/privacy"),
		opt("business_profile[terms_of_service_url]", "string", "A link shown in the portal.", "https://shop.example.com/terms"),
		opt("login_page[enabled]", "boolean", "Only false: there is no hosted login page.", "false"),
		opt("features[customer_update][enabled]", "boolean", "Let customers change their billing details.", "true"),
		opt("features[customer_update][allowed_updates][]", "array of strings", "Which: email, address, name, phone.", "email"),
		opt("features[invoice_history][enabled]", "boolean", "Show invoices, with PDFs and pay links.", "true"),
		opt("features[payment_method_update][enabled]", "boolean", "Let customers replace their card (a hosted VERIFY).", "true"),
		opt(sc+"[enabled]", "boolean", "Let customers cancel subscriptions.", "true"),
		oneOf(opt(sc+"[mode]", "enum", "Cancel at the period's end (which the customer may undo until then) or at once.", "at_period_end"),
			"at_period_end", "immediately"),
		oneOf(opt(sc+"[proration_behavior]", "enum", "Credit the unused time of a cancellation at once.", "none"), "none", "create_prorations"),
		opt(sc+"[cancellation_reason][enabled]", "boolean", "Ask for a reason (kept as cancellation_details.feedback).", "true"),
		opt(sc+"[cancellation_reason][options][]", "array of strings", "The reasons offered: too_expensive, missing_features, "+
			"switched_service, unused, customer_service, too_complex, low_quality, other.", "too_expensive"),
		opt(su+"[enabled]", "boolean", "Let customers switch a subscription's price.", "true"),
		opt(su+"[default_allowed_updates][]", "array of strings", "Only price.", "price"),
		oneOf(opt(su+"[proration_behavior]", "enum", "How a switch is prorated.", "create_prorations"), "none", "create_prorations", "always_invoice"),
		alone(opt(su+"[products][0][product]", "string", "A product whose prices customers may switch between (up to 10 products).",
			"prod_NWjs8kKbJWmuuc"), su+"[products][0][prices][]=price_1MoBy5LkdIwHu7ix"),
		alone(opt(su+"[products][0][prices][]", "array of strings", "Its active recurring prices offered (up to 10).", "price_1MoBy5LkdIwHu7ix"),
			su+"[products][0][product]=prod_NWjs8kKbJWmuuc"),
		metadata(),
	}
}
