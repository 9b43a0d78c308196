package main

import (
	"io"
	"sync"
	"time"
)

// logFlushInterval bounds how long a log line waits in serve's buffer.
const logFlushInterval = 50 * time.Millisecond

// logBufferSize is how much log output may wait before it is written at once.
const logBufferSize = 64 << 10

// logWriter batches the lines that serve's logger writes from many
// goroutines into one write every logFlushInterval, or sooner when
// logBufferSize is reached. A write system call for every request's access
// log line was 5–8 % of the server's CPU under load (BENCHMARKS.md). Each
// Write is one whole record from slog and is kept whole. Close writes what
// is left; a crash can lose at most the last interval's lines.
type logWriter struct {
	out  io.Writer
	stop chan struct{}
	done chan struct{}

	mu  sync.Mutex
	buf []byte
}

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, stop: make(chan struct{}), done: make(chan struct{}), buf: make([]byte, 0, logBufferSize)}
	go w.loop()
	return w
}

// Write queues p, or writes it with what is queued when the buffer is full.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= logBufferSize {
		w.flushLocked()
	}
	return len(p), nil
}

func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *logWriter) flushLocked() {
	if len(w.buf) > 0 {
		w.out.Write(w.buf) // like slog's own handlers, a failed log write is dropped
		w.buf = w.buf[:0]
	}
}

func (w *logWriter) loop() {
	defer close(w.done)
	t := time.NewTicker(logFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.flush()
		case <-w.stop:
			w.flush()
			return
		}
	}
}

// Close writes what is queued and stops the flushing goroutine.
func (w *logWriter) Close() error {
	close(w.stop)
	<-w.done
	return nil
}
