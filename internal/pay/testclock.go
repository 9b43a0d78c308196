package pay

import (
	"net/http"
	"time"
)

// PrefixTestClock starts a test clock's ID, as Stripe's.
const PrefixTestClock = "clock_"

// Test clock statuses.
const (
	TestClockReady     = "ready"
	TestClockAdvancing = "advancing"
	// TestClockInternalFailure is Stripe's status for a clock whose advance
	// failed; nothing sets it yet (a failed advance is retried).
	TestClockInternalFailure = "internal_failure"
)

// TestClockLifetime is how long after its creation a test clock is
// scheduled to be deleted (deletes_after), as Stripe shows it.
const TestClockLifetime = 30 * 24 * time.Hour

// MaxTestClockNameLen is the longest name a test clock may have.
const MaxTestClockNameLen = 300

// TestClock moves time for the customers attached to it, in test mode only:
// their billing runs at its FrozenTime instead of the real time. An advance
// records TargetFrozenTime and sets Status to advancing; once everything due
// up to the target has run, FrozenTime becomes the target and Status ready.
type TestClock struct {
	ID      string
	Scope   Scope
	Created int64
	Name    string // "" when none was given
	// FrozenTime is the clock's time, in unix seconds.
	FrozenTime int64
	Status     string
	// TargetFrozenTime is the time an advancing clock moves to; 0 otherwise.
	TargetFrozenTime int64
}

// DeletesAfter is when the clock is scheduled to be deleted.
func (c *TestClock) DeletesAfter() int64 { return c.Created + int64(TestClockLifetime/time.Second) }

// Now is the clock's time.
func (c *TestClock) Now() time.Time { return time.Unix(c.FrozenTime, 0) }

// MaxTestClockAdvance is the furthest a clock may advance in one step when
// none of its customers has a subscription: two years past its frozen time,
// as Stripe allows. (With subscriptions Stripe allows two intervals of the
// shortest one; billing passes that limit to CheckAdvance.)
func MaxTestClockAdvance(frozenTime int64) int64 {
	return time.Unix(frozenTime, 0).UTC().AddDate(2, 0, 0).Unix()
}

// CheckAdvance checks that the clock may advance to target, a unix time at
// most limit: it must be ready (not already advancing) and target must be
// after its frozen time.
func (c *TestClock) CheckAdvance(target, limit int64) error {
	if c.Status != TestClockReady {
		return InvalidRequest("test_clock_unexpected_state", "",
			"The test clock %s is %s: wait until it is ready before advancing it again.", c.ID, c.Status)
	}
	if target <= c.FrozenTime {
		return InvalidParam("frozen_time", "The frozen_time (%d) must be after the test clock's current frozen_time (%d): a test clock only moves forward.",
			target, c.FrozenTime)
	}
	if target > limit {
		return InvalidParam("frozen_time", "The frozen_time (%d) cannot be more than two years after the test clock's current frozen_time (%d): advance at most to %d.",
			target, c.FrozenTime, limit)
	}
	return nil
}

// CheckTestMode refuses test clocks to a live-mode scope: they exist in
// test mode only. param names the parameter that asked for one, if any.
func CheckTestMode(scope Scope, param string) error {
	if !scope.Livemode {
		return nil
	}
	return &Error{Status: http.StatusBadRequest, Type: ErrorTypeInvalidRequest, Code: "livemode_mismatch", Param: param,
		Message: "Test clocks are only available in test mode: use a test-mode key (sk_test_…), and no test clock with live-mode objects."}
}

// testClockJSON is the test clock object as Stripe's API version
// 2026-03-25.dahlia shows it.
type testClockJSON struct {
	ID            string              `json:"id"`
	Object        string              `json:"object"`
	Created       int64               `json:"created"`
	DeletesAfter  int64               `json:"deletes_after"`
	FrozenTime    int64               `json:"frozen_time"`
	Livemode      bool                `json:"livemode"`
	Name          nullString          `json:"name"`
	Status        string              `json:"status"`
	StatusDetails testClockStatusJSON `json:"status_details"`
}

// testClockStatusJSON is status_details: empty unless the clock is advancing.
type testClockStatusJSON struct {
	Advancing *testClockAdvancingJSON `json:"advancing,omitempty"`
}

type testClockAdvancingJSON struct {
	TargetFrozenTime int64 `json:"target_frozen_time"`
}

// TestClockObject is a test clock's Stripe object type.
const TestClockObject = "test_helpers.test_clock"

// TestClockView renders a test clock as the API and its events show it.
func TestClockView(c *TestClock) any {
	v := testClockJSON{ID: c.ID, Object: TestClockObject, Created: c.Created, DeletesAfter: c.DeletesAfter(), FrozenTime: c.FrozenTime,
		Livemode: c.Scope.Livemode, Name: nullString(c.Name), Status: c.Status}
	if c.Status == TestClockAdvancing {
		v.StatusDetails.Advancing = &testClockAdvancingJSON{TargetFrozenTime: c.TargetFrozenTime}
	}
	return v
}
