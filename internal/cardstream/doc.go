// Package cardstream speaks the Cardstream card gateway protocol: ordered
// field lists, a PHP parse_str compatible body parser, the SHA-512 message
// signature (sign and verify), a Direct API client (VERIFY, SALE, CAPTURE,
// CANCEL, REFUND_SALE, QUERY and the 3-D Secure continuation), Hosted Payment
// Page form building and callback verification.
//
// The package knows nothing of Calmony Pay's store or API types and imports
// only the standard library. The protocol reference is
// docs/cardstream-protocol.md (shared docs); section numbers in comments
// (§3.2 and so on) point into it.
//
// Card numbers and CVVs never appear in errors or log records produced by
// this package; Fields and Card redact them when formatted or logged.
package cardstream
