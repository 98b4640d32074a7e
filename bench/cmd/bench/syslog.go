package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// syslogReport mirrors what `benchhelper syslog` prints.
type syslogReport struct {
	Sent    int    `json:"sent"`
	Network string `json:"network"`
	StartNS int64  `json:"start_ns"`
	EndNS   int64  `json:"end_ns"`
}

// syslogIdle is how long the log may stay without a new message before the
// rest count as lost.
const syslogIdle = 3 * time.Second

// measureSyslog floods /dev/log in each stack and counts the messages that
// reach docker's log (the json-file `docker logs` reads).
func (e *env) measureSyslog(ctx context.Context) error {
	return e.eachRun(func(st stack, i int) error { return e.syslogRun(ctx, st, i) })
}

func (e *env) syslogRun(ctx context.Context, st stack, i int) error {
	tag := fmt.Sprintf("BENCH%s%d", st.Name, i)
	var rep syslogReport
	c, err := e.runHelper(ctx, st, "syslog", i, &rep, "syslog", strconv.Itoa(e.cfg.SyslogMessages), tag)
	if err != nil {
		return err
	}
	defer c.remove(ctx)
	got, last, err := countArrivals(ctx, c.logPath, []byte(tag+" "), rep.Sent)
	if err != nil {
		return err
	}
	secs := last.Sub(time.Unix(0, rep.StartNS)).Seconds()
	rate := 0.0
	if got > 0 && secs > 0 {
		rate = float64(got) / secs
	}
	e.res.add("syslog_rate", st.Name, rate)
	e.res.add("syslog_lost", st.Name, float64(rep.Sent-got))
	logf("syslog %s #%d: %d/%d arrived (%s), %.0f msg/s; sending took %.2fs",
		st.Name, i+1, got, rep.Sent, rep.Network, rate, float64(rep.EndNS-rep.StartNS)/1e9)
	return nil
}

// countArrivals follows a docker json-file log until `want` distinct
// messages tagged tag arrived, or none arrived for syslogIdle. It returns
// how many arrived and docker's timestamp of the last one.
func countArrivals(ctx context.Context, path string, tag []byte, want int) (int, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer f.Close()
	seen := make([]bool, want)
	got := 0
	var last time.Time
	r := bufio.NewReaderSize(f, 1<<20)
	idleSince := time.Now()
	for got < want && time.Since(idleSince) < syslogIdle && ctx.Err() == nil {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			// A partial line stays in the reader's buffer: re-read it later.
			if len(line) > 0 {
				_, _ = f.Seek(-int64(len(line)), io.SeekCurrent)
				r.Reset(f)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil {
			return got, last, fmt.Errorf("read %s: %w", path, err)
		}
		seq, ok := tagSeq(line, tag)
		if !ok || seq >= want || seen[seq] {
			continue
		}
		seen[seq], got, idleSince = true, got+1, time.Now()
		if t, ok := logTime(line); ok {
			last = t
		}
	}
	return got, last, nil
}

// tagSeq finds "TAG SEQ" in a log line and returns SEQ.
func tagSeq(line, tag []byte) (int, bool) {
	i := bytes.Index(line, tag)
	if i < 0 {
		return 0, false
	}
	n, digits := 0, 0
	for _, b := range line[i+len(tag):] {
		if b < '0' || b > '9' {
			break
		}
		n, digits = n*10+int(b-'0'), digits+1
	}
	return n, digits > 0
}

// logTime extracts docker's "time" field (when dockerd read the line).
func logTime(line []byte) (time.Time, bool) {
	key := []byte(`"time":"`)
	i := bytes.LastIndex(line, key)
	if i < 0 {
		return time.Time{}, false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}
