//go:build !linux

package alarm

import "time"

// sysAlarm is Linux's timerfd; elsewhere an Alarm is a time.Timer.
type sysAlarm struct{}

func newSysAlarm() *sysAlarm { return nil }

func (s *sysAlarm) arm(time.Duration) error { panic("alarm: no timerfd here") }
func (s *sysAlarm) wake()                   {}
func (s *sysAlarm) wait() error             { panic("alarm: no timerfd here") }
func (s *sysAlarm) close() error            { return nil }
