package syslogd

// testHook, when set, sees every parsed message before it is written. It
// is nil in svinit; the PID-1 tests build svinit with the tag
// svinit_testhooks (hook_testhooks.go), which sets it to panic on one
// message, to prove a panicking built-in is restarted and PID 1 survives.
var testHook func(*Message)
