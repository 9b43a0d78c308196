package api_test

import "time"

func sleep50ms() { time.Sleep(50 * time.Millisecond) }
