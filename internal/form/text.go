package form

import (
	"strings"
	"unicode/utf8"
)

// validText reports whether s is text every store keeps as sent: valid
// UTF-8 without NUL. PostgreSQL refuses anything else in a text column
// (SQLSTATE 22021) and SQLite would store it altered, so both decoders
// refuse it, in names and values alike.
func validText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// CheckText applies the decoders' text rule to a value read from outside
// the parameters, such as a path segment or a header: it returns an *Error
// naming name (HTTP 400) unless s is valid UTF-8 without NUL.
func CheckText(name, s string) error {
	if validText(s) {
		return nil
	}
	return errInvalidText(name)
}

// printable replaces invalid UTF-8 and NUL in s by U+FFFD, so an error can
// name a parameter whose name is not valid text.
func printable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func errInvalidText(param string) *Error {
	return newError(CodeInvalidString, printable(param), "Invalid value for %s: it must be valid UTF-8 without NUL characters.")
}

func errInvalidName(param string) *Error {
	return newError(CodeMalformed, printable(param), "Invalid parameter name: %s (it must be valid UTF-8 without NUL characters)")
}

// lossy reports whether decoding the JSON text data replaces something by
// U+FFFD: data holds invalid UTF-8, or a \u escape of a UTF-16 surrogate
// that is not half of a pair. (Backslashes occur only inside strings in
// JSON, and a body that is not JSON fails to decode anyway.)
func lossy(data []byte) bool {
	if !utf8.Valid(data) {
		return true
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 == len(data) {
			continue
		}
		if data[i+1] != 'u' {
			i++ // a one-character escape such as \\ or \"
			continue
		}
		switch r := hex4(data[i+2:]); {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low surrogate without its high half
		case r >= 0xD800 && r <= 0xDBFF:
			if len(data) < i+12 || data[i+6] != '\\' || data[i+7] != 'u' {
				return true // a high surrogate without its low half
			}
			if lo := hex4(data[i+8:]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

// hex4 returns the value of the four hex digits b starts with, or -1.
func hex4(b []byte) int {
	if len(b) < 4 {
		return -1
	}
	n := 0
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | int(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			n = n<<4 | int(c|0x20-'a'+10)
		default:
			return -1
		}
	}
	return n
}
