package control

import (
	"errors"

	"alpine-server/internal/jsoncodec"
)

// The wire form of the protocol types, written by hand (internal/jsoncodec)
// so that svinit links no encoding/json and reads requests strictly: exact
// key names, no duplicate, no unknown key.
//
// To add a field to a type: the struct field with its `json` tag (the
// tests compare the codec against encoding/json through the tags), one line
// in its appendJSON, one case in its field method. TestCodecCoversEveryField
// fails when either line is missing.

// The Omit choices, as the `omitempty` tag option reads.
const (
	always    = jsoncodec.Always
	omitEmpty = jsoncodec.OmitEmpty
)

func (r *Request) appendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.String("verb", r.Verb, always)
	w.Strings("names", r.Names, omitEmpty)
	w.Float("wait", r.Wait, omitEmpty)
	w.Bool("now", r.Now, omitEmpty)
	w.Close()
}

func (r *Request) field(d *jsoncodec.Decoder, key string) bool {
	switch key {
	case "verb":
		r.Verb = d.Str()
	case "names":
		r.Names = d.Strings()
	case "wait":
		r.Wait = d.Float()
	case "now":
		r.Now = d.Bool()
	default:
		return false
	}
	return true
}

func (r *Response) appendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.Bool("ok", r.OK, always)
	w.String("error", r.Error, omitEmpty)
	jsoncodec.AppendList(w, "services", r.Services, omitEmpty, (*ServiceStatus).appendJSON)
	jsoncodec.AppendList(w, "results", r.Results, omitEmpty, (*Result).appendJSON)
	w.String("text", r.Text, omitEmpty)
	w.Close()
}

func (r *Response) field(d *jsoncodec.Decoder, key string) bool {
	switch key {
	case "ok":
		r.OK = d.Bool()
	case "error":
		r.Error = d.Str()
	case "services":
		r.Services = jsoncodec.ReadObjects(d, (*ServiceStatus).field)
	case "results":
		r.Results = jsoncodec.ReadObjects(d, (*Result).field)
	case "text":
		r.Text = d.Str()
	default:
		return false
	}
	return true
}

func (r *Result) appendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.String("name", r.Name, always)
	w.Bool("ok", r.OK, always)
	w.String("error", r.Error, omitEmpty)
	w.Close()
}

func (r *Result) field(d *jsoncodec.Decoder, key string) bool {
	switch key {
	case "name":
		r.Name = d.Str()
	case "ok":
		r.OK = d.Bool()
	case "error":
		r.Error = d.Str()
	default:
		return false
	}
	return true
}

func (e *ExitInfo) appendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.Int("code", int64(e.Code), always)
	w.String("signal", e.Signal, omitEmpty)
	w.Time("time", e.Time)
	w.Close()
}

func (e *ExitInfo) field(d *jsoncodec.Decoder, key string) bool {
	switch key {
	case "code":
		e.Code = int(d.Int())
	case "signal":
		e.Signal = d.Str()
	case "time":
		e.Time = d.Time()
	default:
		return false
	}
	return true
}

func (s *ServiceStatus) appendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.String("name", s.Name, always)
	w.String("state", s.State, always)
	w.Int("pid", int64(s.Pid), omitEmpty)
	w.Bool("builtin", s.Builtin, omitEmpty)
	w.Bool("oneshot", s.Oneshot, omitEmpty)
	w.Time("since", s.Since)
	w.Bool("ready", s.Ready, always)
	w.Bool("want_up", s.WantUp, always)
	w.Bool("normally_up", s.NormallyUp, always)
	w.Int("restarts", int64(s.Restarts), always)
	if s.LastExit != nil {
		w.Key("last_exit")
		s.LastExit.appendJSON(w)
	}
	w.Float("restart_in", s.RestartIn, omitEmpty)
	w.Int("failures", int64(s.Failures), omitEmpty)
	w.String("health", s.Health, omitEmpty)
	w.String("status_text", s.StatusText, omitEmpty)
	w.Raw("detail", s.Detail, omitEmpty)
	w.Strings("lines", s.Lines, omitEmpty)
	w.Close()
}

func (s *ServiceStatus) field(d *jsoncodec.Decoder, key string) bool {
	switch key {
	case "name":
		s.Name = d.Str()
	case "state":
		s.State = d.Str()
	case "pid":
		s.Pid = int(d.Int())
	case "builtin":
		s.Builtin = d.Bool()
	case "oneshot":
		s.Oneshot = d.Bool()
	case "since":
		s.Since = d.Time()
	case "ready":
		s.Ready = d.Bool()
	case "want_up":
		s.WantUp = d.Bool()
	case "normally_up":
		s.NormallyUp = d.Bool()
	case "restarts":
		s.Restarts = int(d.Int())
	case "last_exit":
		s.LastExit = &ExitInfo{}
		d.Object(func(k string) bool { return s.LastExit.field(d, k) })
	case "restart_in":
		s.RestartIn = d.Float()
	case "failures":
		s.Failures = int(d.Int())
	case "health":
		s.Health = d.Str()
	case "status_text":
		s.StatusText = d.Str()
	case "detail":
		s.Detail = d.Raw()
	case "lines":
		s.Lines = d.Strings()
	default:
		return false
	}
	return true
}

// encodeResponse is resp as one line's JSON, without the newline.
func encodeResponse(resp *Response) ([]byte, error) {
	var w jsoncodec.Writer
	resp.appendJSON(&w)
	return w.B, w.Err()
}

// encodeRequest is req as one line's JSON, without the newline.
func encodeRequest(req *Request) ([]byte, error) {
	var w jsoncodec.Writer
	req.appendJSON(&w)
	return w.B, w.Err()
}

// parseRequest decodes one request line strictly, without validating it.
func parseRequest(line []byte) (Request, error) {
	var req Request
	d := jsoncodec.NewDecoder(line)
	d.Object(func(k string) bool { return req.field(d, k) })
	return req, d.End()
}

// parseResponse decodes one response strictly: svinit and sv are one
// binary, so an unknown key is an error here too.
func parseResponse(line []byte) (Response, error) {
	var resp Response
	if len(line) == 0 {
		return resp, errors.New("empty answer")
	}
	d := jsoncodec.NewDecoder(line)
	d.Object(func(k string) bool { return resp.field(d, k) })
	return resp, d.End()
}

// indentServices is the services as one indented JSON list, as
// json.MarshalIndent(services, "", "  ") writes it ([] when there are none).
func indentServices(services []ServiceStatus) ([]byte, error) {
	if services == nil {
		services = []ServiceStatus{}
	}
	var w jsoncodec.Writer
	w.OpenArray()
	for i := range services {
		services[i].appendJSON(&w)
	}
	w.CloseArray()
	return jsoncodec.Indent(nil, w.B), w.Err()
}
