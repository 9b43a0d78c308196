package pay

// Page asks for one page of a list. Lists are newest first, ordered by
// (created, id) descending, and paged by keyset on that pair.
type Page struct {
	Limit         int    // 1–100
	StartingAfter string // an object ID: the page after it (older)
	EndingBefore  string // an object ID: the page before it (newer)
	Created       Range
}

// Range filters on a unix-time field. Nil bounds are absent.
type Range struct {
	Gt, Gte, Lt, Lte *int64
}

// List is one page of results.
type List[T any] struct {
	Data    []T
	HasMore bool
}
