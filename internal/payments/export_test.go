package payments

// OpLease is how long a gateway op's owner holds it without renewing: the
// reconciler takes over an op only once its lease has lapsed.
const OpLease = opLease
