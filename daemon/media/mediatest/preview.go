// Package mediatest holds a media.Preview for tests: one that records
// what it is given, to check what a source or sink offers a live view.
// Only _test.go files import it.
package mediatest

import (
	"bytes"
	"sync/atomic"
	"time"
)

// Preview wants images while Want is set, counts the times it is asked,
// and sends a copy of each image it is given on Images (make it with
// NewPreview). Safe for concurrent use.
type Preview struct {
	Want   atomic.Bool
	Asked  atomic.Int64
	Images chan []byte
}

// NewPreview returns a Preview that wants nothing yet and holds up to n
// images; Put blocks when n are waiting, so a test reads them.
func NewPreview(n int) *Preview { return &Preview{Images: make(chan []byte, n)} }

// Wants counts the call and reports Want.
func (p *Preview) Wants(time.Time) bool {
	p.Asked.Add(1)
	return p.Want.Load()
}

// Put sends a copy of jpeg on Images.
func (p *Preview) Put(jpeg []byte, _ time.Time) { p.Images <- bytes.Clone(jpeg) }
