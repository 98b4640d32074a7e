//go:build svinit_testhooks

package syslogd

import "strings"

// PanicMarker in a message makes a test build of syslog panic.
const PanicMarker = "svinit-test-panic"

func init() {
	testHook = func(m *Message) {
		if strings.Contains(m.Text, PanicMarker) {
			panic("test hook: " + PanicMarker)
		}
	}
}
