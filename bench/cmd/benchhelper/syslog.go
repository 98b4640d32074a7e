package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// syslogReport is what `benchhelper syslog` prints.
type syslogReport struct {
	Sent    int    `json:"sent"`
	Network string `json:"network"` // unixgram or unix (stream)
	StartNS int64  `json:"start_ns"`
	EndNS   int64  `json:"end_ns"`
}

// syslogFlood sends N RFC 3164 messages tagged TAG to /dev/log with blocking
// writes: a datagram socket blocks while the server's queue is full, so no
// message is lost here; loss can only happen between the server and stdout.
func syslogFlood(args []string) error {
	n, err := countArg(args)
	if err != nil {
		return err
	}
	if len(args) < 2 {
		return fmt.Errorf("syslog: missing tag")
	}
	conn, network, err := dialLog("/dev/log")
	if err != nil {
		return err
	}
	defer conn.Close()
	rep := syslogReport{Network: network, StartNS: time.Now().UnixNano()}
	buf := make([]byte, 0, 256)
	for i := 0; i < n; i++ {
		buf = message(buf[:0], args[1], i, network == "unix")
		if _, err := conn.Write(buf); err != nil {
			return fmt.Errorf("syslog: write message %d to /dev/log: %w", i, err)
		}
		rep.Sent++
	}
	rep.EndNS = time.Now().UnixNano()
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// dialLog connects the way syslog(3) does: datagram first, stream if the
// server only speaks stream.
func dialLog(path string) (net.Conn, string, error) {
	c, err := net.Dial("unixgram", path)
	if err == nil {
		return c, "unixgram", nil
	}
	c, err2 := net.Dial("unix", path)
	if err2 == nil {
		return c, "unix", nil
	}
	return nil, "", fmt.Errorf("syslog: dial %s: %v; as stream: %v", path, err, err2)
}

func message(buf []byte, tag string, seq int, stream bool) []byte {
	buf = append(buf, "<13>"...)
	buf = time.Now().AppendFormat(buf, time.Stamp)
	buf = append(buf, " bench: "...)
	buf = append(buf, tag...)
	buf = append(buf, ' ')
	buf = strconv.AppendInt(buf, int64(seq), 10)
	if stream {
		buf = append(buf, '\n')
	}
	return buf
}
