package daemon

import (
	"bytes"
	"testing"

	"github.com/vstreamd/vstreamd/daemon/media"
	"github.com/vstreamd/vstreamd/packetizer"
)

// framed sends a ready frame as it is, writes the prefix in place before a
// picture the source wrote where it was asked to, and copies one written
// elsewhere; reuse hands back the send loop's buffer, or the one the
// source grew, but never the source's own bytes.
func TestFramed(t *testing.T) {
	const m = packetizer.MediaLen
	jpeg := packetizer.Media{Codec: packetizer.CodecJPEG, Flags: packetizer.MediaKeyframe}
	want := append(jpeg.AppendTo(nil), "picture"...)
	scratch := make([]byte, 0, 64)

	ready := bytes.Clone(want)
	buf := make([]byte, 0, 64)
	c := captured{f: media.Frame{Data: ready[m:], Framed: ready, Media: jpeg}, buf: buf}
	if got := c.framed(&scratch); &got[0] != &ready[0] || !bytes.Equal(got, want) {
		t.Fatalf("a ready frame: %q, not the source's bytes as they are", got)
	}
	if r := c.reuse(); cap(r) != cap(buf) || &r[:1][0] != &buf[:1][0] {
		t.Fatal("a ready frame: reuse did not hand back the send loop's buffer")
	}

	buf = make([]byte, 0, 64)
	data := append(buf[m:m], "picture"...)
	c = captured{f: media.Frame{Data: data, Media: jpeg}, buf: buf}
	if got := c.framed(&scratch); &got[0] != &buf[:1][0] || !bytes.Equal(got, want) {
		t.Fatalf("a picture in place: %q, not framed in the buffer", got)
	}

	grown := append(make([]byte, 0, 128), "picture"...)
	c = captured{f: media.Frame{Data: grown, Media: jpeg}, buf: make([]byte, 0, 8)}
	if got := c.framed(&scratch); !bytes.Equal(got, want) || &got[0] != &scratch[:1][0] {
		t.Fatalf("a picture elsewhere: %q, not copied into scratch", got)
	}
	if r := c.reuse(); cap(r) != cap(grown) {
		t.Fatalf("reuse kept a buffer of %d bytes, want the grown one (%d)", cap(r), cap(grown))
	}
}
