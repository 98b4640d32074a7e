package envsnap

import (
	"fmt"
	"io/fs"
	"strings"

	"alpine-server/internal/regfile"
)

// Quote double-quotes v so that sh reads back exactly its bytes: inside
// double quotes only \ " $ and ` are special, and each is escaped with a
// backslash. Newlines stay literal, which is fine inside quotes. (NUL bytes
// cannot be in an environment, so they are not handled.)
func Quote(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\', '"', '$', '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// maxEnvFile bounds ReadFile: the file is re-read after every startup
// script, and a runaway script must not make PID 1 swallow a huge file.
const maxEnvFile = 16 << 20

// ReadFile parses an env file: KEY="..." (with Quote's escapes), KEY='...',
// KEY=bare, concatenations of those, an optional leading "export ", blank
// lines and # comments. The first bad line is an error "FILE:LINE: problem";
// sh expansions ($VAR, `cmd`) are refused rather than guessed. Later
// assignments of a key win, as in sh.
func ReadFile(path string) (map[string]string, error) {
	data, err := regfile.Read(path, maxEnvFile) // a FIFO never blocks PID 1
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return Parse(path, data)
}

// Parse parses env-file content as ReadFile does; name is used in errors.
func Parse(name string, data []byte) (map[string]string, error) {
	p := &parser{data: data, line: 1}
	vars := map[string]string{}
	for {
		p.skipBlanks()
		c, ok := p.peek()
		switch {
		case !ok:
			return vars, nil
		case c == '\n':
			p.next()
		case c == '#':
			p.skipComment()
		default:
			k, v, err := p.assignment()
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, p.errLine, err)
			}
			vars[k] = v
		}
	}
}

// parser walks env-file bytes, counting lines.
type parser struct {
	data    []byte
	pos     int
	line    int
	errLine int // line an error is reported at
}

func (p *parser) peek() (byte, bool) {
	if p.pos >= len(p.data) {
		return 0, false
	}
	return p.data[p.pos], true
}

// next consumes one byte, counting newlines.
func (p *parser) next() byte {
	c := p.data[p.pos]
	p.pos++
	if c == '\n' {
		p.line++
	}
	return c
}

// skipBlanks skips spaces, tabs and carriage returns (so CRLF files from
// other editors still parse).
func (p *parser) skipBlanks() {
	for c, ok := p.peek(); ok && (c == ' ' || c == '\t' || c == '\r'); c, ok = p.peek() {
		p.pos++
	}
}

func (p *parser) skipComment() {
	for c, ok := p.peek(); ok && c != '\n'; c, ok = p.peek() {
		p.pos++
	}
}

func (p *parser) fail(line int, format string, a ...any) error {
	p.errLine = line
	return fmt.Errorf(format, a...)
}

// assignment parses [export ]KEY=VALUE up to the end of its last line.
func (p *parser) assignment() (key, value string, err error) {
	if rest := p.data[p.pos:]; len(rest) >= 7 && string(rest[:6]) == "export" && (rest[6] == ' ' || rest[6] == '\t') {
		p.pos += 6
		p.skipBlanks()
	}
	if key, err = p.key(); err != nil {
		return "", "", err
	}
	if value, err = p.value(); err != nil {
		return "", "", err
	}
	p.skipBlanks()
	if c, ok := p.peek(); ok && c == '#' {
		p.skipComment()
	} else if ok && c != '\n' {
		return "", "", p.fail(p.line, "unexpected %q after the value of %s (quote the whole value)", c, key)
	}
	return key, value, nil
}

// key parses KEY and the "=" after it.
func (p *parser) key() (string, error) {
	start := p.pos
	for c, ok := p.peek(); ok && isNameByte(c, p.pos == start); c, ok = p.peek() {
		p.pos++
	}
	key := string(p.data[start:p.pos])
	if c, ok := p.peek(); ok && c == '=' && key != "" {
		p.pos++
		return key, nil
	}
	word := p.data[start:]
	if i := strings.IndexAny(string(word), "\n="); i >= 0 && word[i] == '=' {
		return "", p.fail(p.line, "invalid variable name %q", word[:i])
	}
	return "", p.fail(p.line, "expected KEY=value")
}

// ValidName reports whether k is a name sh can assign: [A-Za-z_][A-Za-z0-9_]*.
func ValidName(k string) bool {
	for i := 0; i < len(k); i++ {
		if !isNameByte(k[i], i == 0) {
			return false
		}
	}
	return k != ""
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'):
		return true
	default:
		return !first && c >= '0' && c <= '9'
	}
}

// value parses the word after "=": a run of bare, "double" and 'single'
// quoted parts, ended by a blank or the end of the line.
func (p *parser) value() (string, error) {
	var b strings.Builder
	for {
		c, ok := p.peek()
		if !ok || c == '\n' || c == ' ' || c == '\t' || c == '\r' {
			return b.String(), nil
		}
		var err error
		switch c {
		case '"':
			err = p.doubleQuoted(&b)
		case '\'':
			err = p.singleQuoted(&b)
		default:
			err = p.bare(&b)
		}
		if err != nil {
			return "", err
		}
	}
}

// bare parses one unquoted byte (or backslash pair).
func (p *parser) bare(b *strings.Builder) error {
	line := p.line
	switch c := p.next(); c {
	case '\\':
		n, ok := p.peek()
		if !ok {
			return p.fail(line, "backslash at the end of the file")
		}
		if n == 0 {
			return p.fail(line, "NUL byte")
		}
		p.next()
		if n != '\n' { // backslash-newline joins lines, as in sh
			b.WriteByte(n)
		}
	case '$', '`':
		return p.fail(line, "%q expansion is not supported: quote it as \\%c or use '...'", c, c)
	case ';', '&', '|', '<', '>', '(', ')':
		return p.fail(line, "unexpected %q (quote the value)", c)
	case 0:
		return p.fail(line, "NUL byte")
	default:
		b.WriteByte(c)
	}
	return nil
}

// doubleQuoted parses "...": backslash escapes \ " $ ` and newline, and is
// kept before anything else, as in sh.
func (p *parser) doubleQuoted(b *strings.Builder) error {
	start := p.line
	p.next()
	for {
		c, ok := p.peek()
		if !ok {
			return p.fail(start, "unterminated double quote")
		}
		line := p.line
		p.next()
		switch c {
		case '"':
			return nil
		case '\\':
			if err := p.escape(b, start); err != nil {
				return err
			}
		case '$', '`':
			return p.fail(line, "%q expansion is not supported: escape it as \\%c", c, c)
		case 0:
			return p.fail(line, "NUL byte")
		default:
			b.WriteByte(c)
		}
	}
}

// escape handles the byte after a backslash inside double quotes.
func (p *parser) escape(b *strings.Builder, start int) error {
	n, ok := p.peek()
	if !ok {
		return p.fail(start, "unterminated double quote")
	}
	switch n {
	case '\\', '"', '$', '`':
		b.WriteByte(p.next())
	case '\n':
		p.next()
	default:
		b.WriteByte('\\')
	}
	return nil
}

// singleQuoted parses '...': every byte literal up to the next quote.
func (p *parser) singleQuoted(b *strings.Builder) error {
	start := p.line
	p.next()
	for {
		c, ok := p.peek()
		if !ok {
			return p.fail(start, "unterminated single quote")
		}
		p.next()
		switch c {
		case '\'':
			return nil
		case 0:
			return p.fail(p.line, "NUL byte")
		default:
			b.WriteByte(c)
		}
	}
}
