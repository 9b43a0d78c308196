package store

// For the plan tests.
const (
	WhereID          = whereID
	WhereOpPending   = whereOpPending
	WhereOpAttention = whereOpAttention
)
