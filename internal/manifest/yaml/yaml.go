// Package yaml is the strict YAML subset svinit's manifests are written
// in, parsed into nodes with line numbers. It replaces go.yaml.in/yaml/v3
// (and the regexp package it pulls in), about 0.5 MB of a 3.9 MB binary
// that is container memory (SPEC §12); its node API mirrors yaml.v3's so
// the manifest decoder reads either, and its tests fuzz it against yaml.v3.
//
// Supported: block mappings and sequences (compact "- key: v" too), flow
// lists and mappings, plain, 'single' and "double" quoted scalars (with
// line folding and every YAML escape), | and > block scalars with their
// chomping and indentation indicators, comments, anchors and aliases, one
// "---" document start and "..." end. Refused with an error naming the
// line: tags (!!str), directives (%YAML), explicit "?" keys, keys that are
// not scalars, "k: v" pairs inside a flow list, content after "---" on
// its line, tabs in indentation, control characters, invalid UTF-8 and the
// line separators U+0085, U+2028, U+2029. Keys are not checked for
// duplicates here: the manifest decoder does it, naming both lines.
package yaml

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is what a node is; the values are yaml.v3's.
type Kind uint32

// The kinds of node.
const (
	DocumentNode Kind = 1 << iota
	SequenceNode
	MappingNode
	ScalarNode
	AliasNode
)

// Style is how a node was written; the values are yaml.v3's.
type Style uint32

// The styles of node (TaggedStyle is never set: tags are refused).
const (
	TaggedStyle Style = 1 << iota
	DoubleQuotedStyle
	SingleQuotedStyle
	LiteralStyle
	FoldedStyle
	FlowStyle
)

// Node is one node of a document.
type Node struct {
	Kind    Kind
	Style   Style
	Value   string  // a scalar's text, an alias's anchor name
	Anchor  string  // &name given to this node
	Alias   *Node   // what an alias refers to
	Content []*Node // a document's root; a list's items; a mapping's keys and values in turn
	Line    int     // 1-based line where the node starts
}

// Error is a syntax error at a line.
type Error struct {
	Line int
	Msg  string
}

// Error is "line N: MSG", as yaml.v3 words it.
func (e *Error) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// maxDepth bounds nesting so that a hostile document cannot exhaust the
// stack; maxKey is YAML's limit on an implicit key.
const (
	maxDepth = 100
	maxKey   = 1024
)

// Parse returns the documents of data, each a DocumentNode whose Content
// is its root node (none for an empty document). A file with nothing but
// comments has no document.
func Parse(data []byte) (docs []*Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			docs, err = nil, e
		}
	}()
	data = []byte(strings.TrimPrefix(string(data), "\ufeff"))
	if line, msg := checkChars(data); msg != "" {
		return nil, &Error{Line: line, Msg: msg}
	}
	p := &parser{src: data, line: 1, anchors: map[string]*Node{}}
	return p.stream(), nil
}

// checkChars refuses what YAML does not allow anywhere (tab, LF, CR and
// the printable characters only) and the Unicode line breaks YAML 1.1
// parsers split lines at where YAML 1.2 ones do not.
func checkChars(data []byte) (int, string) {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return line, "invalid UTF-8"
		case r == '\n' || r == '\r' && (i+1 == len(data) || data[i+1] != '\n'):
			line++
		case r == '\t' || r == '\r':
		case r < 0x20 || r >= 0x7f && r < 0xa0 && r != 0x85 || r == 0xfffe || r == 0xffff || r == 0xfeff:
			return line, "control characters are not allowed"
		case r == 0x85 || r == 0x2028 || r == 0x2029:
			return line, "line separators U+0085, U+2028 and U+2029 are not allowed"
		}
		i += size
	}
	return 0, ""
}

type parser struct {
	src       []byte
	pos       int
	line      int // line of src[pos]
	lineStart int // offset of the current line
	depth     int
	anchors   map[string]*Node
	anchored  bool // the next node already has an anchor (on the line before)
}

func (p *parser) fail(msg string) { panic(&Error{Line: p.line, Msg: msg}) }

// failAtEnd reports a problem found at the end of the input on the last
// line that has text, as yaml.v3 does.
func (p *parser) failAtEnd(msg string) {
	line := p.line
	if p.eof() && p.pos == p.lineStart && line > 1 {
		line--
	}
	panic(&Error{Line: line, Msg: msg})
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }
func (p *parser) col() int  { return p.pos - p.lineStart }

// at is the byte i ahead, or 0 past the end.
func (p *parser) at(i int) byte {
	if p.pos+i < len(p.src) {
		return p.src[p.pos+i]
	}
	return 0
}

func isBlank(c byte) bool   { return c == ' ' || c == '\t' }
func isBreak(c byte) bool   { return c == '\n' || c == '\r' }
func isBlankz(c byte) bool  { return c == 0 || isBlank(c) || isBreak(c) }
func isFlowInd(c byte) bool { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}' }

func (p *parser) atBreakz() bool { return p.eof() || isBreak(p.src[p.pos]) }

// newline consumes one line break.
func (p *parser) newline() {
	if p.at(0) == '\r' && p.at(1) == '\n' {
		p.pos++
	}
	p.pos++
	p.line++
	p.lineStart = p.pos
}

func (p *parser) enter() {
	if p.depth++; p.depth > maxDepth {
		p.fail("nested deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
}

func (p *parser) leave() { p.depth-- }

// skipInline skips blanks and a comment up to the line break.
func (p *parser) skipInline() {
	for !p.eof() && isBlank(p.src[p.pos]) {
		p.pos++
	}
	if p.at(0) == '#' && (p.pos == p.lineStart || isBlank(p.src[p.pos-1])) {
		for !p.atBreakz() {
			p.pos++
		}
	}
}

// endLine checks that nothing but a comment follows a node on its line.
func (p *parser) endLine() {
	p.skipInline()
	if !p.atBreakz() {
		if p.at(0) == ':' {
			p.fail("mapping values are not allowed in this context")
		}
		p.fail("did not find expected key")
	}
}

// skipToContent moves to the next text that is not blank or a comment,
// across lines, in block context; false at the end.
func (p *parser) skipToContent() bool { return p.skipSpace(false) }

// flowSpace is skipToContent inside a flow collection.
func (p *parser) flowSpace() bool { return p.skipSpace(true) }

// skipSpace skips blanks, comments and line breaks. A tab at the start of
// a line (after the indentation) is an error in block context, as in
// yaml.v3, and a document marker inside a flow collection.
func (p *parser) skipSpace(flow bool) bool {
	for {
		switch {
		case p.pos != p.lineStart:
		case flow && p.atDocMarker():
			p.fail("found unexpected document indicator")
		case !flow:
			p.indentation()
		}
		p.skipInline()
		if p.eof() {
			return false
		}
		if !isBreak(p.src[p.pos]) {
			return true
		}
		p.newline()
	}
}

// indentation skips the spaces that start a line and refuses a tab.
func (p *parser) indentation() {
	for p.at(0) == ' ' {
		p.pos++
	}
	if p.at(0) == '\t' {
		p.fail("found character that cannot start any token")
	}
}

// atMarker reports a "---" or "..." document marker at the current
// position, which must be the start of a line.
func (p *parser) atMarker(m string) bool {
	return p.col() == 0 && strings.HasPrefix(string(p.src[p.pos:min(p.pos+3, len(p.src))]), m) && isBlankz(p.at(3))
}

func (p *parser) atDocMarker() bool { return p.atMarker("---") || p.atMarker("...") }

// atSeqEntry reports a "-" block sequence indicator.
func (p *parser) atSeqEntry() bool { return p.at(0) == '-' && isBlankz(p.at(1)) }

// stream reads the documents to the end.
func (p *parser) stream() []*Node {
	var docs []*Node
	for p.skipToContent() {
		if p.col() == 0 && p.at(0) == '%' {
			p.fail("directives (%YAML, %TAG) are not supported")
		}
		doc := &Node{Kind: DocumentNode, Line: p.line}
		explicit := p.atMarker("---")
		if explicit {
			p.pos += 3
			p.skipInline()
			if !p.atBreakz() {
				p.fail(`put the document on the lines after "---"`)
			}
		} else if p.atMarker("...") {
			p.fail("did not find expected node content")
		}
		if len(docs) > 0 && !explicit {
			p.fail("did not find expected <document start>")
		}
		if p.skipToContent() && !p.atDocMarker() {
			doc.Content = []*Node{p.node(-1, true, false)}
			if p.skipToContent() && !p.atDocMarker() {
				p.fail("did not find expected <document start>")
			}
		} else {
			doc.Content = []*Node{{Kind: ScalarNode, Line: p.line}} // "---" and nothing: null
		}
		docs = append(docs, doc)
		if p.atMarker("...") {
			p.pos += 3
			p.endLine()
		}
	}
	return docs
}

// node reads the node at the current position, which holds text.
// indent is the column of the enclosing block collection (-1 at the top):
// what continues the node on later lines is indented more. block says
// whether a block mapping or sequence may start here (not after "key: ");
// seqAtIndent that this node is a mapping's value on its own lines, where
// a sequence may sit at the mapping's column.
func (p *parser) node(indent int, block, seqAtIndent bool) *Node {
	p.enter()
	defer p.leave()
	line, col := p.line, p.col()
	outer := p.anchored // an anchor ended the line before: this node has it
	p.anchored = false
	anchor := p.anchor()
	if anchor != "" {
		p.skipInline()
		if outer && (p.atBreakz() || !p.keyAhead()) {
			p.fail("one anchor per node")
		}
		if p.atBreakz() {
			p.anchored = true
			n := p.nextLines(indent, seqAtIndent)
			p.anchored = false
			n.Anchor, n.Line = anchor, line
			p.anchors[anchor] = n
			return n
		}
	}
	var n *Node
	switch {
	case (outer || anchor != "") && p.at(0) == '*':
		p.fail("an alias cannot have an anchor")
	case p.at(0) == '?' && isBlankz(p.at(1)):
		p.fail("explicit keys (?) are not supported")
	case p.atSeqEntry() && (!block || anchor != ""):
		p.fail("block sequence entries are not allowed in this context")
	case p.atSeqEntry():
		n = p.blockSeq(col, seqAtIndent && col == indent)
	case p.keyAhead() && !block:
		p.fail("mapping values are not allowed in this context")
	case p.keyAhead():
		return p.blockMap(col, anchor, line)
	default:
		n = p.inline(indent, false)
		if n.Style&(LiteralStyle|FoldedStyle) == 0 {
			p.endLine() // a block scalar has read its lines
		}
	}
	if anchor != "" {
		n.Anchor, n.Line = anchor, line
		p.anchors[anchor] = n
	}
	return n
}

// nextLines reads the node that starts on a later line, after "key:",
// "- " or an anchor that end their line: more indented than indent (or a
// sequence at indent, with seqAtIndent), else an empty (null) scalar.
func (p *parser) nextLines(indent int, seqAtIndent bool) *Node {
	if !p.skipToContent() || p.atDocMarker() {
		return &Node{Kind: ScalarNode, Line: p.line}
	}
	if c := p.col(); c > indent || seqAtIndent && c == indent && p.atSeqEntry() {
		return p.node(indent, true, seqAtIndent)
	}
	return &Node{Kind: ScalarNode, Line: p.line}
}

// keyAhead reports whether the current line holds an implicit key here: a
// plain or quoted scalar on this line followed by ":" and a blank.
func (p *parser) keyAhead() bool {
	save := *p
	defer func() { *p = save }()
	switch c := p.at(0); {
	case c == '\'' || c == '"':
		ok := false
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, isErr := r.(*Error); !isErr {
						panic(r)
					}
				}
			}()
			p.quoted()
			ok = p.line == save.line
		}()
		if !ok {
			return false
		}
		for !p.eof() && isBlank(p.src[p.pos]) {
			p.pos++
		}
		return p.at(0) == ':' && isBlankz(p.at(1))
	case !p.plainStart(false):
		return false
	}
	for !p.atBreakz() {
		c := p.src[p.pos]
		if c == ':' && isBlankz(p.at(1)) {
			return true
		}
		if c == '#' && isBlank(p.src[p.pos-1]) {
			return false
		}
		p.pos++
	}
	return false
}

// blockMap reads a block mapping whose keys are at column col; anchor, if
// any, belongs to the first key.
func (p *parser) blockMap(col int, anchor string, line int) *Node {
	m := &Node{Kind: MappingNode, Line: line}
	for {
		if p.atSeqEntry() || !p.keyAhead() {
			if p.at(0) == '?' && isBlankz(p.at(1)) {
				p.fail("explicit keys (?) are not supported")
			}
			p.fail("did not find expected key")
		}
		keyLine := p.line
		key := p.inline(col, true)
		if anchor != "" {
			key.Anchor, key.Line = anchor, keyLine
			p.anchors[anchor] = key
			anchor = ""
		}
		p.skipInline() // the blanks before ':'
		p.pos++        // ':'
		p.skipInline()
		var v *Node
		if p.atBreakz() {
			v = p.nextLines(col, true)
		} else {
			v = p.node(col, false, false)
		}
		m.Content = append(m.Content, key, v)
		if !p.skipToContent() || p.atDocMarker() || p.col() < col {
			return m
		}
		if p.col() > col {
			p.fail("did not find expected key")
		}
		anchor = p.anchor()
	}
}

// blockSeq reads a block sequence whose "-" are at column col. inMap says
// it is a mapping's value at the mapping's own column, so a line at col
// that is not an entry ends it rather than being an error.
func (p *parser) blockSeq(col int, inMap bool) *Node {
	s := &Node{Kind: SequenceNode, Line: p.line}
	for {
		p.pos++ // '-'
		p.indentation()
		p.skipInline()
		var item *Node
		if p.atBreakz() {
			item = p.nextLines(col, false)
		} else {
			item = p.node(col, true, false)
		}
		s.Content = append(s.Content, item)
		if !p.skipToContent() || p.atDocMarker() || p.col() < col {
			return s
		}
		if p.col() > col || !p.atSeqEntry() {
			if inMap && p.col() == col {
				return s
			}
			p.fail("did not find expected '-' indicator")
		}
	}
}

// anchor reads "&name" if there is one, and refuses tags.
func (p *parser) anchor() string {
	if p.at(0) == '!' {
		p.fail("tags (!!str, !name) are not supported: quote the value instead")
	}
	if p.at(0) != '&' {
		return ""
	}
	p.pos++
	name := p.name()
	for !p.eof() && isBlank(p.src[p.pos]) {
		p.pos++
	}
	if p.at(0) == '!' || p.at(0) == '&' || p.at(0) == '*' {
		p.fail("one anchor per node, and no tags or aliases after it")
	}
	return name
}

// name reads an anchor or alias name: letters, digits, "_" and "-".
func (p *parser) name() string {
	start := p.pos
	for !p.eof() {
		c := p.src[p.pos]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			break
		}
		p.pos++
	}
	if c := p.at(0); p.pos == start || !isBlankz(c) && c != ',' && c != ']' && c != '}' {
		p.fail("did not find expected alphabetic or numeric character")
	}
	return string(p.src[start:p.pos])
}

// inline reads a node written on the current line (it may continue on
// later ones): a flow collection, an alias, a quoted, block or plain
// scalar. key says it is an implicit key, which must fit on one line.
func (p *parser) inline(indent int, key bool) *Node {
	line := p.line
	n := &Node{Kind: ScalarNode, Line: line}
	switch c := p.at(0); {
	case c == '[' || c == '{':
		return p.flow(indent)
	case c == '*':
		return p.alias()
	case c == '\'' || c == '"':
		n.Style = DoubleQuotedStyle
		if c == '\'' {
			n.Style = SingleQuotedStyle
		}
		n.Value = p.quoted()
	case (c == '|' || c == '>') && !key:
		n.Style = LiteralStyle
		if c == '>' {
			n.Style = FoldedStyle
		}
		n.Value = p.blockScalar(indent)
	case p.plainStart(false):
		n.Value = p.plain(indent, false, key)
	default:
		p.fail("found character that cannot start any token")
	}
	if key && len(n.Value) > maxKey {
		p.fail("a key is at most 1024 bytes")
	}
	return n
}

func (p *parser) alias() *Node {
	line := p.line
	p.pos++
	name := p.name()
	target, ok := p.anchors[name]
	if !ok {
		p.fail("unknown anchor '" + name + "' referenced")
	}
	return &Node{Kind: AliasNode, Value: name, Alias: target, Line: line}
}

// plainStart reports whether a plain scalar may start here: not with an
// indicator, except "-", "?" and ":" followed by text.
func (p *parser) plainStart(flow bool) bool {
	c := p.at(0)
	switch c {
	case 0, ' ', '\t', '\n', '\r', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-':
		next := p.at(1)
		return !isBlankz(next) && !(flow && isFlowInd(next))
	case '?', ':': // as libyaml: never inside a flow collection
		return !flow && !isBlankz(p.at(1))
	}
	return true
}

// plain reads a plain scalar, folding the lines it continues on (those
// indented more than indent; any line inside a flow collection).
func (p *parser) plain(indent int, flow, key bool) string {
	var b strings.Builder
	for {
		start, end := p.pos, p.pos
		for !p.atBreakz() {
			c := p.src[p.pos]
			if c == ':' && isBlankz(p.at(1)) || c == '#' && isBlank(p.src[p.pos-1]) ||
				flow && (isFlowInd(c) || c == '?') {
				return b.String() + string(p.src[start:end])
			}
			p.pos++
			if !isBlank(c) {
				end = p.pos
			}
		}
		b.Write(p.src[start:end])
		if key {
			return b.String()
		}
		// Does the scalar go on after the line break?
		save := *p
		breaks := 0
		for p.atBreakz() && !p.eof() {
			p.newline()
			breaks++
			for !p.eof() && isBlank(p.src[p.pos]) {
				if p.src[p.pos] == '\t' && p.col() <= indent {
					p.fail("found a tab character that violates indentation")
				}
				p.pos++
			}
		}
		indented := true
		for i := p.lineStart; i < p.pos; i++ {
			indented = indented && p.src[i] == ' '
		}
		if p.eof() || p.at(0) == '#' || p.atDocMarker() || !flow && (p.col() <= indent || !indented) ||
			flow && isFlowInd(p.at(0)) || p.at(0) == ':' && isBlankz(p.at(1)) {
			*p = save
			return b.String()
		}
		if breaks == 1 {
			b.WriteByte(' ')
		} else {
			b.WriteString(strings.Repeat("\n", breaks-1))
		}
	}
}

// quoted reads a 'single' or "double" quoted scalar, folding its lines
// as libyaml does: blanks kept inside a line and trimmed around breaks,
// one break folded to a space, n breaks to n-1 "\n", and an escaped break
// in a double-quoted scalar joining its lines.
func (p *parser) quoted() string {
	q := p.src[p.pos]
	p.pos++
	var b strings.Builder
	for {
		if p.atDocMarker() {
			p.fail("found unexpected document indicator")
		}
		if p.eof() {
			p.failAtEnd("found unexpected end of stream")
		}
		leadingBlanks := false
		for !isBlankz(p.at(0)) {
			c := p.src[p.pos]
			switch {
			case q == '\'' && c == '\'' && p.at(1) == '\'':
				b.WriteByte('\'')
				p.pos += 2
				continue
			case c == q:
				p.pos++
				return b.String()
			case q == '"' && c == '\\' && isBreak(p.at(1)):
				p.pos++
				p.newline()
				leadingBlanks = true
			case q == '"' && c == '\\':
				p.escape(&b)
				continue
			default:
				b.WriteByte(c)
				p.pos++
				continue
			}
			break
		}
		var blanks, leadingBreak, trailingBreaks strings.Builder
		for !p.eof() && (isBlank(p.src[p.pos]) || isBreak(p.src[p.pos])) {
			switch {
			case isBlank(p.src[p.pos]) && !leadingBlanks:
				blanks.WriteByte(p.src[p.pos])
				p.pos++
			case isBlank(p.src[p.pos]):
				p.pos++
			case !leadingBlanks:
				blanks.Reset()
				leadingBreak.WriteByte('\n')
				leadingBlanks = true
				p.newline()
			default:
				trailingBreaks.WriteByte('\n')
				p.newline()
			}
		}
		switch {
		case !leadingBlanks:
			b.WriteString(blanks.String())
		case leadingBreak.Len() > 0 && trailingBreaks.Len() == 0:
			b.WriteByte(' ')
		default:
			b.WriteString(trailingBreaks.String())
		}
	}
}

// escape reads one escape sequence of a double-quoted scalar: YAML's
// one-character escapes, and \xXX, \uXXXX, \UXXXXXXXX.
func (p *parser) escape(b *strings.Builder) {
	c := p.at(1)
	if r, ok := shortEscape(c); ok {
		b.WriteRune(r)
		p.pos += 2
		return
	}
	digits := 0
	switch c {
	case 'x':
		digits = 2
	case 'u':
		digits = 4
	case 'U':
		digits = 8
	default:
		p.fail("found unknown escape character while parsing a quoted scalar")
	}
	if p.pos+2+digits > len(p.src) {
		p.failAtEnd("did not find expected hexdecimal number")
	}
	r, err := strconv.ParseUint(string(p.src[p.pos+2:p.pos+2+digits]), 16, 32)
	if err != nil {
		p.fail("did not find expected hexdecimal number")
	}
	if r >= 0xd800 && r <= 0xdfff || r > 0x10ffff {
		p.fail("found invalid Unicode character escape code")
	}
	b.WriteRune(rune(r))
	p.pos += 2 + digits
}

// shortEscape is what the one-character escape \c stands for.
func shortEscape(c byte) (rune, bool) {
	switch c {
	case '0':
		return 0, true
	case 'a':
		return '\a', true
	case 'b':
		return '\b', true
	case 't', '\t':
		return '\t', true
	case 'n':
		return '\n', true
	case 'v':
		return '\v', true
	case 'f':
		return '\f', true
	case 'r':
		return '\r', true
	case 'e':
		return 0x1b, true
	case ' ', '"', '\\':
		return rune(c), true
	case 'N':
		return 0x85, true
	case '_':
		return 0xa0, true
	case 'L':
		return 0x2028, true
	case 'P':
		return 0x2029, true
	}
	return 0, false
}

// blockScalar reads a | (literal) or > (folded) scalar, as libyaml does.
func (p *parser) blockScalar(indent int) string {
	literal := p.src[p.pos] == '|'
	p.pos++
	chomp, inc := 0, 0 // chomp: -1 strip, 0 clip, +1 keep
	for range 2 {
		switch c := p.at(0); {
		case (c == '+' || c == '-') && chomp == 0:
			chomp = 1
			if c == '-' {
				chomp = -1
			}
			p.pos++
		case c >= '1' && c <= '9' && inc == 0:
			inc = int(c - '0')
			p.pos++
		case c == '0':
			p.fail("found an indentation indicator equal to 0")
		}
	}
	if !isBlankz(p.at(0)) {
		p.fail("did not find expected comment or line break")
	}
	p.skipInline()
	if !p.atBreakz() {
		p.fail("did not find expected comment or line break")
	}
	if !p.eof() {
		p.newline()
	}
	ind := inc
	if inc > 0 && indent >= 0 {
		ind = indent + inc
	}
	var out, leadingBreak strings.Builder
	trailingBreaks := p.blockBreaks(&ind, indent)
	leadingBlank := false
	for p.col() == ind && !p.eof() {
		trailingBlank := isBlank(p.at(0))
		if !literal && strings.HasPrefix(leadingBreak.String(), "\n") && !leadingBlank && !trailingBlank {
			if trailingBreaks == "" {
				out.WriteByte(' ')
			}
		} else {
			out.WriteString(leadingBreak.String())
		}
		leadingBreak.Reset()
		out.WriteString(trailingBreaks)
		trailingBreaks = ""
		leadingBlank = isBlank(p.at(0))
		start := p.pos
		for !p.atBreakz() {
			p.pos++
		}
		out.Write(p.src[start:p.pos])
		if p.eof() {
			break
		}
		p.newline()
		leadingBreak.WriteByte('\n')
		trailingBreaks = p.blockBreaks(&ind, indent)
	}
	if chomp != -1 {
		out.WriteString(leadingBreak.String())
	}
	if chomp == 1 {
		out.WriteString(trailingBreaks)
	}
	return out.String()
}

// blockBreaks eats the indentation and the empty lines before the next
// line of a block scalar and returns the breaks; it settles the
// indentation (*ind) at the first line with text if no indicator did.
func (p *parser) blockBreaks(ind *int, indent int) string {
	var breaks strings.Builder
	maxInd := 0
	for {
		for (*ind == 0 || p.col() < *ind) && p.at(0) == ' ' {
			p.pos++
		}
		maxInd = max(maxInd, p.col())
		if (*ind == 0 || p.col() < *ind) && p.at(0) == '\t' {
			p.fail("found a tab character where an indentation space is expected")
		}
		if p.eof() || !isBreak(p.src[p.pos]) {
			break
		}
		p.newline()
		breaks.WriteByte('\n')
	}
	if *ind == 0 {
		*ind = max(maxInd, indent+1, 1)
	}
	return breaks.String()
}

// flow reads a [list] or {mapping}, across lines if need be; indent is
// the column of the enclosing block collection.
func (p *parser) flow(indent int) *Node {
	p.enter()
	defer p.leave()
	open := p.src[p.pos]
	n := &Node{Kind: SequenceNode, Style: FlowStyle, Line: p.line}
	closer, want := byte(']'), "did not find expected ',' or ']'"
	if open == '{' {
		n.Kind, closer, want = MappingNode, '}', "did not find expected ',' or '}'"
	}
	p.pos++
	for {
		if !p.flowSpace() {
			p.failAtEnd(want)
		}
		if p.at(0) == closer {
			p.pos++
			return n
		}
		item := p.flowNode(indent)
		if !p.flowSpace() {
			p.failAtEnd(want)
		}
		if open == '{' {
			if item.Kind != ScalarNode {
				p.fail("a key must be a plain or quoted string")
			}
			value := &Node{Kind: ScalarNode, Line: p.line}
			if p.at(0) == ':' {
				p.pos++
				if !p.flowSpace() {
					p.failAtEnd(want)
				}
				if c := p.at(0); c != ',' && c != '}' {
					value = p.flowNode(indent)
				}
			}
			n.Content = append(n.Content, item, value)
		} else {
			if p.at(0) == ':' {
				p.fail("key: value pairs inside a flow list are not supported: use {key: value}")
			}
			n.Content = append(n.Content, item)
		}
		if !p.flowSpace() {
			p.failAtEnd(want)
		}
		switch p.at(0) {
		case ',':
			p.pos++
		case closer:
			p.pos++
			return n
		default:
			p.fail(want)
		}
	}
}

// flowNode reads one entry of a flow collection.
func (p *parser) flowNode(indent int) *Node {
	line := p.line
	anchor := p.anchor()
	if anchor != "" && !p.flowSpace() {
		p.failAtEnd("did not find expected node content")
	}
	var n *Node
	switch c := p.at(0); {
	case c == '[' || c == '{':
		n = p.flow(indent)
	case c == '*' && anchor == "":
		n = p.alias()
	case c == '\'' || c == '"':
		n = &Node{Kind: ScalarNode, Style: SingleQuotedStyle, Line: line}
		if c == '"' {
			n.Style = DoubleQuotedStyle
		}
		n.Value = p.quoted()
	case anchor != "" && (c == ',' || c == ']' || c == '}' || c == ':'):
		n = &Node{Kind: ScalarNode, Line: line} // an anchored empty node
	case p.plainStart(true):
		n = &Node{Kind: ScalarNode, Line: line, Value: p.plain(indent, true, false)}
	default:
		p.fail("did not find expected node content")
	}
	if anchor != "" {
		n.Anchor, n.Line = anchor, line
		p.anchors[anchor] = n
	}
	return n
}
