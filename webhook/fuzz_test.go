package webhook_test

import (
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/calmony/calmonypay/webhook"
)

// FuzzVerifyAt checks the timestamp tolerance against exact arithmetic: a
// correctly signed header verifies if and only if its timestamp is at most
// the tolerance from now, either way, whatever the timestamp (any int64),
// the current time and the tolerance. Run it with
//
//	go test ./webhook -run '^$' -fuzz FuzzVerifyAt -fuzztime 1m
//
// Inputs it once failed on are kept in testdata/fuzz/FuzzVerifyAt.
func FuzzVerifyAt(f *testing.F) {
	const now = 1_800_000_000
	for _, seed := range []struct {
		sec, nowSec int64
		nowNsec     uint32
		tolerance   int64
	}{
		{now, now, 0, 0},
		{now + 300, now, 0, 0},
		{now + 301, now, 0, 0},
		{now - 300, now, 999_999_999, 0},
		{now + 10_000_000_000, now, 0, 0}, // centuries ahead
		{math.MaxInt64, now, 0, 0},
		{math.MinInt64, now, 0, 0},
		{math.MaxInt64, now, 0, math.MaxInt64},
		{now + 3600, now, 0, int64(time.Hour)},
		{now, now, 0, -1},
	} {
		f.Add(seed.sec, seed.nowSec, seed.nowNsec, seed.tolerance)
	}
	f.Fuzz(func(t *testing.T, sec, nowSec int64, nowNsec uint32, tolerance int64) {
		nowSec %= 1 << 40 // about 35,000 years either side of 1970
		at := time.Unix(nowSec, int64(nowNsec%1e9))
		header := "t=" + strconv.FormatInt(sec, 10) + ",v1=" + hex.EncodeToString(webhook.ComputeSignature(time.Unix(sec, 0), payload, secret))
		err := webhook.VerifyAt(payload, header, secret, time.Duration(tolerance), at)

		var want error
		tol := time.Duration(tolerance)
		if tol == 0 {
			tol = webhook.DefaultTolerance
		}
		if tol > 0 {
			// age = now - t, in nanoseconds, exactly.
			age := new(big.Int).Mul(big.NewInt(nowSec), big.NewInt(1e9))
			age.Add(age, big.NewInt(int64(nowNsec%1e9)))
			age.Sub(age, new(big.Int).Mul(big.NewInt(sec), big.NewInt(1e9)))
			if age.CmpAbs(big.NewInt(int64(tol))) > 0 {
				want = webhook.ErrTooOld
			}
		}
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("VerifyAt(t=%d) at %d.%09d with tolerance %d = %v, want %v", sec, nowSec, nowNsec%1e9, tolerance, err, want)
		}
	})
}

// FuzzVerifyHeader feeds arbitrary headers: Verify never panics, and refuses
// each with a *webhook.Error.
func FuzzVerifyHeader(f *testing.F) {
	at := time.Unix(1_800_000_000, 0)
	for _, h := range []string{
		webhook.Sign(payload, at, secret), "", "t=", "t=1,v1=", "t=-1,v1=00", "t=99999999999999999999,v1=00",
		"t=+1800000000,v1=" + hex.EncodeToString(webhook.ComputeSignature(at, payload, secret)), ",,,", "v1=zz,t=1",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		err := webhook.VerifyAt(payload, header, secret, 0, at)
		var we *webhook.Error
		if err != nil && !errors.As(err, &we) {
			t.Errorf("VerifyAt(%q) = %v, not a *webhook.Error", header, err)
		}
	})
}
