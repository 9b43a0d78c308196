package apidocs

func prorationParams() []Param {
	return []Param{
		oneOf(opt("proration_behavior", "enum", "How a change mid-period is prorated: create_prorations (the default) as pending items, always_invoice on an invoice now, or none.", "none"), "create_prorations", "none", "always_invoice"),
		opt("proration_date", "timestamp", "The time prorations are computed at. Default now.", "1700000000"),
	}
}

func subscriptions() Resource {
	return Resource{ID: "subscriptions", Name: "Subscriptions",
		About: "A subscription (sub_…) bills a customer for its items every period: each renewal makes an invoice and, " +
			"with charge_automatically, charges the default payment method, retrying on the project's dunning schedule.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/subscriptions", Summary: "Create a subscription.",
				Params: join([]Param{
					req("customer", "string", "The customer billed.", "cus_NffrFeUfNV2Hib"),
					req("items[0][price]", "string", "Each item's recurring price (1 to 20 items).", "price_1MoBy5LkdIwHu7ix"),
					opt("items[0][quantity]", "integer", "Each item's quantity. Default 1.", "2"),
					opt("items[0][metadata][key]", "string", "Each item's metadata.", "gold"),
					opt("trial_period_days", "integer", "Days of free trial.", "14"),
					opt("trial_end", "timestamp or now", "When the trial ends, instead of trial_period_days.", "1893456000"),
					opt("billing_cycle_anchor", "timestamp", "When the first full period starts.", "1893456000"),
					oneOf(opt("payment_behavior", "enum", "What happens when the first invoice is not paid at once. Default allow_incomplete.", "default_incomplete"), "allow_incomplete", "default_incomplete", "error_if_incomplete"),
					oneOf(opt("collection_method", "enum", "charge_automatically (the default) or send_invoice. At creation only.", "send_invoice"), "charge_automatically", "send_invoice"),
					opt("days_until_due", "integer", "For send_invoice: days until each invoice is due. At creation only.", "30"),
				}, subscriptionChange()),
				Example: "customer=cus_NffrFeUfNV2Hib&items[0][price]=price_1MoBy5LkdIwHu7ix"},
			{Method: "GET", Path: "/v1/subscriptions", Summary: "List subscriptions (not canceled ones unless status asks).",
				Params: page(true,
					opt("customer", "string", "Only this customer's subscriptions.", "cus_NffrFeUfNV2Hib"),
					opt("price", "string", "Only subscriptions with this price.", "price_1MoBy5LkdIwHu7ix"),
					oneOf(opt("status", "enum", "Only subscriptions in this status; ended for canceled and incomplete_expired ones, all for every one.", "all"), "incomplete", "incomplete_expired", "trialing", "active", "past_due", "unpaid", "canceled", "paused", "ended", "all")),
				Example: "customer=cus_NffrFeUfNV2Hib&status=all"},
			{Method: "GET", Path: "/v1/subscriptions/{id}", Summary: "Retrieve a subscription."},
			{Method: "POST", Path: "/v1/subscriptions/{id}", Summary: "Update a subscription: its items, trial, cancellation, pause or settings.",
				Params: join([]Param{
					opt("items[0][id]", "string", "An existing item to change (or delete with items[i][deleted]=true).", "si_NcLYdDxLHxlFo7"),
					opt("items[0][price]", "string", "The item's new price, or a new item's price.", "price_1MoBy5LkdIwHu7ix"),
					opt("items[0][quantity]", "integer", "The item's quantity.", "3"),
					alone(opt("items[0][deleted]", "boolean", "Remove the item named by items[i][id].", "true"), "items[0][id]=si_NcLYdDxLHxlFo7"),
					opt("cancel_at_period_end", "boolean", "Cancel at the end of the current period.", "true"),
					opt("cancel_at", "timestamp", "Cancel at this time.", "1893456000"),
					opt("trial_end", "timestamp or now", "End the trial at this time, or now.", "now"),
					oneOf(opt("billing_cycle_anchor", "enum", "now starts a new billing period now.", "unchanged"), "now", "unchanged"),
					oneOf(opt("payment_behavior", "enum", "When the invoice a change makes is not paid at once: allow_incomplete (the default) leaves the subscription past_due.", "allow_incomplete"), "allow_incomplete", "default_incomplete"),
					oneOf(opt("pause_collection[behavior]", "enum", "Pause collection: what happens to the invoices made while paused (pause_collection= resumes).", "void"), "keep_as_draft", "mark_uncollectible", "void"),
					opt("cancellation_details[comment]", "string", "Why the customer cancels.", "Too expensive"),
					oneOf(opt("cancellation_details[feedback]", "enum", "The customer's reason.", "too_expensive"),
						"customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused"),
				}, prorationParams(), subscriptionChange()),
				Example: "cancel_at_period_end=true"},
			{Method: "DELETE", Path: "/v1/subscriptions/{id}", Summary: "Cancel a subscription now.",
				Params: []Param{
					opt("invoice_now", "boolean", "Invoice pending items and prorations now.", "true"),
					opt("prorate", "boolean", "Credit the unused time.", "true"),
					opt("cancellation_details[comment]", "string", "Why the customer cancels.", "Too expensive"),
					oneOf(opt("cancellation_details[feedback]", "enum", "The customer's reason.", "too_expensive"), "customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused"),
				}, Example: "invoice_now=true"},
			{Method: "POST", Path: "/v1/subscriptions/{id}/resume", Summary: "Resume a paused subscription.",
				Params:  join([]Param{oneOf(opt("billing_cycle_anchor", "enum", "now (the default) starts a new billing period now.", "now"), "now", "unchanged")}, prorationParams()),
				Example: "billing_cycle_anchor=now"},
		}}
}

func subscriptionChange() []Param {
	return []Param{
		opt("default_payment_method", "string", "The payment method to charge. Default: the customer's.", "pm_1Q0PsIJvEtkwdCNY"),
		opt("default_tax_rates[]", "array of strings", "Tax rates applied to its invoices' lines.", "txr_1MzS4RLkdIwHu7ix"),
		opt("description", "string", "Description for your own use, shown on invoices.", "Coffee plan"),
		oneOf(opt("trial_settings[end_behavior][missing_payment_method]", "enum", "What happens at the trial's end without a payment method.", "cancel"), "create_invoice", "cancel", "pause"),
		metadata(),
	}
}

func subscriptionItems() Resource {
	itemChange := join([]Param{
		opt("quantity", "integer", "The item's quantity.", "2"),
		opt("tax_rates[]", "array of strings", "Tax rates applied to the item.", "txr_1MzS4RLkdIwHu7ix"),
		oneOf(opt("payment_behavior", "enum", "When the invoice a change makes is not paid at once: allow_incomplete (the default) leaves the subscription past_due.", "allow_incomplete"), "allow_incomplete", "default_incomplete"),
		metadata(),
	}, prorationParams())
	return Resource{ID: "subscription-items", Name: "Subscription items",
		About: "A subscription item (si_…) is one price and quantity on a subscription.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/subscription_items", Summary: "Add an item to a subscription.",
				Params: join([]Param{
					req("subscription", "string", "The subscription.", "sub_1MowQVLkdIwHu7ix"),
					req("price", "string", "A recurring price.", "price_1MoBy5LkdIwHu7ix"),
				}, itemChange),
				Example: "subscription=sub_1MowQVLkdIwHu7ix&price=price_1MoBy5LkdIwHu7ix&quantity=2"},
			{Method: "GET", Path: "/v1/subscription_items", Summary: "List a subscription's items.",
				Params:  join([]Param{req("subscription", "string", "The subscription.", "sub_1MowQVLkdIwHu7ix")}, page(false)),
				Example: "subscription=sub_1MowQVLkdIwHu7ix"},
			{Method: "GET", Path: "/v1/subscription_items/{id}", Summary: "Retrieve a subscription item."},
			{Method: "POST", Path: "/v1/subscription_items/{id}", Summary: "Update a subscription item.",
				Params:  join([]Param{opt("price", "string", "A new recurring price.", "price_1MoBy5LkdIwHu7ix")}, itemChange),
				Example: "quantity=3"},
			{Method: "DELETE", Path: "/v1/subscription_items/{id}", Summary: "Remove an item from its subscription.",
				Params:  join([]Param{opt("clear_usage", "boolean", "Accepted for compatibility.", "true")}, prorationParams()),
				Example: "proration_behavior=none"},
		}}
}

func events() Resource {
	return Resource{ID: "events", Name: "Events",
		About: "An event (evt_…) records a change, in the same transaction as the change; events are kept at least 30 days. See Webhooks for their types.",
		Endpoints: []Endpoint{
			{Method: "GET", Path: "/v1/events", Summary: "List events.",
				Params: page(true,
					opt("type", "string", "Only events of this type; * is a wildcard (customer.*).", "customer.*"),
					alone(opt("types[]", "array of strings", "Only events of these types (at most 20), instead of type.", "customer.created"), "")),
				Example: "type=customer.*&limit=3"},
			{Method: "GET", Path: "/v1/events/{id}", Summary: "Retrieve an event."},
			{Method: "GET", Path: "/v1/events/{id}/delivery_attempts", Summary: "List an event's webhook delivery attempts (our own endpoint).",
				Params:  page(true, opt("webhook_endpoint", "string", "Only the attempts to this endpoint.", "we_1Mr5jULkdIwHu7ix")),
				Example: "webhook_endpoint=we_1Mr5jULkdIwHu7ix"},
			{Method: "POST", Path: "/v1/events/{id}/retry", Summary: "Deliver an event again now, with a new 3-day window (our own endpoint).",
				Params:  []Param{opt("webhook_endpoint", "string", "Only to this endpoint. Default: every enabled endpoint subscribed to its type.", "we_1Mr5jULkdIwHu7ix")},
				Example: "webhook_endpoint=we_1Mr5jULkdIwHu7ix"},
		}}
}

func webhookEndpoints() Resource {
	change := []Param{
		opt("description", "string", "A description for your own use.", "Order service"),
		metadata(),
	}
	return Resource{ID: "webhook-endpoints", Name: "Webhook endpoints",
		About: "A webhook endpoint (we_…) is a URL events are POSTed to, signed with its secret (whsec_…), which is shown only " +
			"when the endpoint is created or its secret rolled. URLs must be https to a public host. At most 16 per project and mode.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/webhook_endpoints", Summary: "Create a webhook endpoint; the answer carries its secret, once.",
				Params: join([]Param{
					req("url", "string", "The https URL events are POSTed to.", "https://shop.example.com/webhooks"),
					req("enabled_events[]", "array of strings", "The event types sent, or * for all.", "*"),
					opt("api_version", "string", "A version on the server's release train (2026-03-25.dahlia), in which events are rendered.", "2026-03-25.dahlia"),
				}, change),
				Example: "url=https://shop.example.com/webhooks&enabled_events[]=payment_intent.succeeded&enabled_events[]=charge.refunded"},
			{Method: "GET", Path: "/v1/webhook_endpoints", Summary: "List webhook endpoints.", Params: page(true)},
			{Method: "GET", Path: "/v1/webhook_endpoints/{id}", Summary: "Retrieve a webhook endpoint (without its secret)."},
			{Method: "POST", Path: "/v1/webhook_endpoints/{id}", Summary: "Update a webhook endpoint.",
				Params: join([]Param{
					opt("url", "string", "The https URL events are POSTed to.", "https://shop.example.com/webhooks"),
					opt("enabled_events[]", "array of strings", "The event types sent, or * for all.", "*"),
					opt("disabled", "boolean", "Disable the endpoint, or enable it again.", "false"),
				}, change),
				Example: "disabled=false"},
			{Method: "DELETE", Path: "/v1/webhook_endpoints/{id}", Summary: "Delete a webhook endpoint."},
			{Method: "POST", Path: "/v1/webhook_endpoints/{id}/roll_secret", Summary: "Give the endpoint a new secret, answered once (our own endpoint).",
				Params:  []Param{opt("expires_in", "integer", "Seconds the old secret keeps signing beside the new one: default 86400, at most 604800, 0 ends it now.", "3600")},
				Example: "expires_in=3600"},
		}}
}

func testClocks() Resource {
	return Resource{ID: "test-clocks", Name: "Test clocks",
		About: "A test clock (clock_…, test mode only) is a simulated time for the customers created on it: advancing it runs their " +
			"subscriptions' renewals, trials and invoices as if that time had passed.",
		Endpoints: []Endpoint{
			{Method: "POST", Path: "/v1/test_helpers/test_clocks", Summary: "Create a test clock.",
				Params: []Param{
					req("frozen_time", "timestamp", "The clock's starting time (unix seconds).", "1700000000"),
					opt("name", "string", "A name for your own use.", "Annual renewal"),
				}, Example: "frozen_time=1700000000&name=Annual renewal"},
			{Method: "GET", Path: "/v1/test_helpers/test_clocks", Summary: "List test clocks.", Params: page(false)},
			{Method: "GET", Path: "/v1/test_helpers/test_clocks/{id}", Summary: "Retrieve a test clock."},
			{Method: "DELETE", Path: "/v1/test_helpers/test_clocks/{id}", Summary: "Delete a test clock and its customers."},
			{Method: "POST", Path: "/v1/test_helpers/test_clocks/{id}/advance", Summary: "Advance a test clock; it is advancing until the work is done, then ready.",
				Params:  []Param{req("frozen_time", "timestamp", "The new time, later than the current one.", "1702592000")},
				Example: "frozen_time=1702592000"},
		}}
}
