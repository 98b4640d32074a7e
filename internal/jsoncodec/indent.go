package jsoncodec

// Indent appends src, a valid JSON value, to dst as json.MarshalIndent(v,
// "", "  ") writes it: one element or field per line, two spaces a level,
// "key": value, empty objects and lists kept as {} and []. White space
// outside strings in src is dropped.
func Indent(dst, src []byte) []byte {
	depth := 0
	open := false // just after '{' or '[': the newline waits for the first element
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, ' ', ' ')
		}
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if open && c != '}' && c != ']' {
			newline()
		}
		switch c {
		case '{', '[':
			dst = append(dst, c)
			depth++
			open = true
			continue
		case '}', ']':
			depth--
			if !open {
				newline()
			}
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, ':', ' ')
		case '"':
			j := i + 1
			for ; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
			dst = append(dst, src[i:min(j+1, len(src))]...)
			i = j
		default:
			dst = append(dst, c)
		}
		open = false
	}
	return dst
}
