// Package form decodes Stripe-style request parameters and reads them back
// with the same names and error codes the Stripe API uses.
//
// # Decoding
//
// [ParseQuery] decodes application/x-www-form-urlencoded bodies and query
// strings with Rack-style bracket keys, as the Stripe SDKs send them:
//
//	metadata[order_id]=42                 {"metadata": {"order_id": "42"}}
//	items[0][price]=p&items[0][quantity]=2 {"items": [{"price": "p", "quantity": "2"}]}
//	expand[]=customer&expand[]=invoice    {"expand": ["customer", "invoice"]}
//
// Brackets may be sent raw or percent-encoded (%5B, %5D) and '+' is a space.
// A bracket segment made only of digits without a leading zero ("0", "17")
// is a numeric key. A form body cannot say whether such keys index an array
// (items[0][price]) or name map keys (metadata[0]), so the tree keeps them
// as [Indexed] and the reader decides by what it reads: an array, in index
// order, each element named as sent (indexes may be sparse, up to
// [MaxIndex]), or a map. An empty segment ("[]") appends, and "a[][b]=1&a[][c]=2" builds one
// object per element the way Rack does: a new element starts when the key
// is already set in the last one. A repeated scalar key keeps the last
// value, as Rack does. [ParseJSON] decodes application/json bodies into the
// same tree, so a JSON body and the equivalent form body read the same and
// have the same [Values.Canonical] form. [Decode] picks the decoder for an
// *http.Request.
//
// A real array (a JSON array, or "[]" appends) is never read as a map:
// [Reader.Map] refuses metadata[]=x rather than invent the key "0".
//
// Names and values must be text: valid UTF-8 without NUL, in form and JSON
// bodies alike. PostgreSQL refuses anything else (SQLSTATE 22021) and SQLite
// would store it altered, so the decoders refuse it with an *Error naming
// the parameter; a JSON string that the decoder would have altered (invalid
// UTF-8, a lone UTF-16 surrogate escape) is refused too. [CheckText] applies
// the same rule to path segments and headers.
//
// Hostile input is bounded by [MaxDepth], [MaxIndex] and [MaxParams], and
// by the body limit given to [Decode].
//
// # Empty strings
//
// In Stripe an empty value means "unset": "description=" clears the
// description, "metadata[k]=" deletes key k and "metadata=" clears all
// metadata. The tree keeps empty strings as they are (JSON null decodes to
// an empty string too), and the [Reader] exposes them: [Reader.OptString]
// returns a pointer to "", [Reader.Map] reports cleared, and [Reader.Unset]
// reports any parameter sent empty. The other typed reads reject an empty
// string with parameter_invalid_empty, as Stripe does for parameters that
// cannot be unset; call [Reader.Unset] first for those that can.
//
// # Reading
//
// A [Reader] reads typed values out of a tree and remembers which
// parameters were consumed, so [Reader.Err] can reject the first unknown
// parameter anywhere in the tree as "Received unknown parameter:
// address[lin1]". Readers for nested objects name their parameters
// Stripe-style: line_items[0][price_data][unit_amount].
//
// # Errors
//
// Every error meant for the client is an [*Error] whose Code is one of the
// Code constants; all of them belong to Stripe's invalid_request_error type.
// Status mapping for handlers: errors.Is(err, [ErrTooLarge]) is HTTP 413,
// errors.Is(err, [ErrUnsupportedMediaType]) is HTTP 415, any other [*Error]
// is HTTP 400, and anything else (a failed body read) is the server's or the
// connection's problem. Messages name parameters but never echo their
// values, so card numbers and CVCs cannot leak into errors or logs.
package form
