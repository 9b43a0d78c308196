package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram in microseconds, in the manner of
// HdrHistogram: values below 2·subBuckets are exact, and above that every
// power of two is split into subBuckets equal parts, so any recorded value is
// known to within 1/subBuckets (under 1%). It is not safe for concurrent use:
// each worker keeps its own, and they are merged at the end.
type hist struct {
	counts [histBuckets]int64
	n      int64
	max    int64 // µs, exact
	sum    int64 // µs
}

const (
	subBits     = 7
	subBuckets  = 1 << (subBits - 1) // 64: the sub-buckets of each power of two above the exact range
	histMaxExp  = 40                 // 2^40 µs is 12 days: nothing overflows
	histBuckets = (histMaxExp + 2) * subBuckets
)

// bucketOf returns the bucket index of v µs.
func bucketOf(v int64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits // ≥ 1
	return e*subBuckets + int(v>>e)      // v>>e is in [subBuckets, 2·subBuckets)
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subBuckets {
		return int64(i), int64(i)
	}
	e := i/subBuckets - 1
	sub := int64(i - e*subBuckets)
	return sub << e, (sub+1)<<e - 1
}

func (h *hist) record(d time.Duration) {
	v := d.Microseconds()
	if v < 0 {
		v = 0
	}
	i := bucketOf(v)
	if i >= histBuckets {
		i = histBuckets - 1
	}
	h.counts[i]++
	h.n++
	h.sum += v
	if v > h.max {
		h.max = v
	}
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the value at quantile q (0 < q ≤ 1) in µs: the upper end of
// the bucket holding it, capped at the exact maximum, so it never understates.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			_, hi := bucketRange(i)
			return min(hi, h.max)
		}
	}
	return h.max
}

func (h *hist) mean() float64 {
	if h.n == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.n)
}
