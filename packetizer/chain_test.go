package packetizer

import "testing"

func TestChain(t *testing.T) {
	key := Media{Codec: CodecH264, Flags: MediaKeyframe}
	inter := Media{Codec: CodecH264}
	wave := Media{Codec: CodecH264, Flags: MediaRefresh, Refresh: 3}
	jpeg := Media{Codec: CodecJPEG, Flags: MediaKeyframe}
	type step struct {
		id    uint32
		m     Media
		brk   bool // Break before this frame
		use   Use
		start uint32
		wait  bool // Waiting after it
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"joins at an inter frame, shows from the keyframe", []step{
			{id: 7, m: inter, use: UseSkip, wait: true},
			{id: 8, m: inter, use: UseSkip, wait: true},
			{id: 9, m: key, use: UseShow, start: 9},
			{id: 10, m: inter, use: UseShow, start: 9},
		}},
		{"a lost frame freezes until the keyframe", []step{
			{id: 1, m: key, use: UseShow, start: 1},
			{id: 2, m: inter, use: UseShow, start: 1},
			{id: 4, m: inter, use: UseSkip, wait: true},
			{id: 5, m: inter, use: UseSkip, wait: true},
			{id: 6, m: key, use: UseShow, start: 6},
		}},
		{"a refresh wave is no recovery point", []step{
			{id: 1, m: key, use: UseShow, start: 1},
			{id: 2, m: wave, use: UseShow, start: 1},
			{id: 4, m: inter, use: UseSkip, wait: true},
			{id: 5, m: wave, use: UseSkip, wait: true},
			{id: 6, m: inter, use: UseSkip, wait: true},
			{id: 7, m: inter, use: UseSkip, wait: true},
			{id: 8, m: wave, use: UseSkip, wait: true},
			{id: 9, m: key, use: UseShow, start: 9},
		}},
		{"a break from the sink", []step{
			{id: 1, m: key, use: UseShow, start: 1},
			{id: 2, m: inter, brk: true, use: UseSkip, wait: true},
			{id: 3, m: key, use: UseShow, start: 3},
		}},
		{"every JPEG shows, whatever was lost", []step{
			{id: 1, m: jpeg, use: UseShow, start: 1},
			{id: 5, m: jpeg, use: UseShow, start: 5},
			{id: 6, m: jpeg, brk: true, use: UseShow, start: 6},
		}},
		{"frame ids wrap", []step{
			{id: 1<<32 - 1, m: key, use: UseShow, start: 1<<32 - 1},
			{id: 0, m: inter, use: UseShow, start: 1<<32 - 1},
		}},
	} {
		var c Chain
		for i, s := range tc.steps {
			if s.brk {
				c.Break()
			}
			use, start := c.Next(s.id, s.m)
			if use != s.use || (use != UseSkip && start != s.start) || c.Waiting() != s.wait {
				t.Fatalf("%s: step %d: Next(%d, %+v) = %v, %d, waiting %v; want %v, %d, %v",
					tc.name, i, s.id, s.m, use, start, c.Waiting(), s.use, s.start, s.wait)
			}
		}
	}
}
