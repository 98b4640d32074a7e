// Package syslogd is svinit's built-in syslog service (SPEC §4, §5, §9):
// it listens on the local syslog socket and writes every message as one
// line through the log mux, under the source name "syslog":
//
//	syslog | user.notice root[12]: hello
//
// # Sockets
//
// SYSLOG_SOCKET (default /dev/log) is a unix datagram socket, as busybox
// syslogd and rsyslog bind it: glibc and musl syslog(3), busybox and
// util-linux logger, Go's log/syslog and Python's SysLogHandler all send
// datagrams there. One path cannot also be a stream socket, so stream
// clients (logger --socket-type stream, logger -T) are served only when
// SYSLOG_STREAM_SOCKET names a second path; frames there are newline- or
// NUL-terminated, or RFC 6587 octet-counted. A stale socket at either path
// is removed before binding (anything else there is an error, never
// deleted); the sockets are mode 0666 so every user's services can log,
// and their files are removed when the service stops. Nothing listens on
// UDP or TCP.
//
// # Back-pressure
//
// One goroutine reads the datagram socket and hands each line to
// Mux.WriteWait, so order is kept and, while stdout drains, a burst is
// lossless: the server waits, the kernel queue fills, and blocking senders
// (syslog(3) is one) wait in send. For AF_UNIX datagrams that queue is
// bounded by net.unix.max_dgram_qlen (10 by default, per network
// namespace) more than by SO_RCVBUF, which is still raised to 4 MiB
// (capped at rmem_max without CAP_NET_ADMIN). When stdout is stalled the
// mux drops and counts lines instead, so senders are never blocked for
// ever.
//
// # Parsing
//
// Parse recognises RFC 5424 (<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG,
// "-" nil values, escaped SD values, a BOM before MSG) and RFC 3164 as real
// local clients send it: "<PRI>Mmm dd hh:mm:ss tag[pid]: msg" without a
// hostname (glibc, musl, busybox), with one (logger --rfc3164), without a
// timestamp (Python) or with an RFC 3339 one (rsyslog). A hostname is only
// taken when a tag follows it. Anything else passes through as raw text,
// with the facility and severity of a leading <PRI> (user.notice without),
// and is counted as a parse failure in Status.
//
// Decision: a hand-written parser, not github.com/leodido/go-syslog/v4.
// Measured with Go 1.26, CGO_ENABLED=0, -trimpath -ldflags="-s -w", on a
// tiny main that binds a unixgram socket and parses one datagram (1,896,610
// bytes without a parser):
//
//	go-syslog rfc5424           +159,744 bytes
//	go-syslog rfc3164           +712,704 bytes
//	go-syslog rfc5424 + rfc3164 +819,200 bytes
//	this package's parser        +24,576 bytes
//
// Binary size is container memory (SPEC §12), and we need both syntaxes
// plus the hostless local form, which rfc3164 parsers of the RFC's strict
// grammar do not expect. The parser is ~300 lines, table-tested on
// captured util-linux logger output and the RFC examples, and fuzzed
// (FuzzParse, FuzzSplitFrame; seed corpus in testdata/fuzz).
// BenchmarkParse: about 0.5 µs per RFC 3164 and 0.8 µs per RFC 5424
// message, one allocation each.
//
// # Output
//
// Prefix and plain formats get "facility.severity tag[pid]: msg" ("[pid]"
// only when sent, "tag: " only when there is a tag); the sender's
// timestamp, hostname, MSGID and structured data are left out (the mux
// stamps JSON lines, and one local socket has one host). The JSON format
// puts the message alone in "msg" and the parsed parts in fields:
// facility, severity, priority, syntax, timestamp, hostname, tag, pid,
// msgid, sd, truncated. All lines go to stdout.
//
// Log injection: every part of a message is escaped before output. C0
// controls and DEL become \n \r \t or \xNN, C1 and bidi controls \uNNNN,
// invalid UTF-8 bytes \xNN, so a message can never end a line early, forge another
// service's line or drive the terminal. Backslashes are kept as sent.
// Trailing newlines, CRs and NULs are trimmed; an empty message writes
// nothing. A datagram over 64 KiB is cut and its line ends " [truncated]";
// so is a line that escaping made longer than 64 KiB, so one message is
// always exactly one line.
//
// Server is a builtin.Service: New(Config), or NewService (the
// builtin.Factory shape, reading SYSLOG_SOCKET and SYSLOG_STREAM_SOCKET
// from Deps.Env), then Run, Signal (HUP has nothing to reload) and Status
// (a Stats value: received, parse_failures, truncated, dropped).
package syslogd
