package store

// WhereID is whereID, for the plan tests.
const WhereID = whereID
