package config

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// envFile is the parsed content of an env file. Entries keep file order so
// that the first unknown setting reported is the first one in the file.
type envFile struct {
	path    string
	entries []envEntry
	index   map[string]int // key -> position in entries
}

type envEntry struct {
	key, value string
	line       int
}

// lookup returns the value of key and the "path:line" it was set on.
func (f *envFile) lookup(key string) (value, source string, ok bool) {
	if f == nil {
		return "", "", false
	}
	i, ok := f.index[key]
	if !ok {
		return "", "", false
	}
	e := f.entries[i]
	return e.value, f.path + ":" + strconv.Itoa(e.line), true
}

// readEnvFile reads and parses the env file at path. A missing file is an
// error because an operator who names a file expects it to be used; silently
// falling back to defaults could start production with test settings.
func readEnvFile(path string) (*envFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		msg := "cannot read env file"
		if errors.Is(err, fs.ErrNotExist) {
			msg = "env file not found"
		}
		var pe *fs.PathError
		if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) {
			msg += ": " + pe.Err.Error()
		}
		return nil, &EnvFileError{Path: path, Message: msg, Err: err}
	}
	return parseEnvFile(path, string(data))
}

// parseEnvFile parses env file syntax: KEY=VALUE lines, optional "export ",
// '#' comments, single quotes (literal) and double quotes (\n, \" and \\
// escapes). It is deliberately a subset of shell syntax, without variable
// expansion, so the same file can be sourced by a shell or read by systemd
// and mean the same thing.
func parseEnvFile(path, data string) (*envFile, error) {
	f := &envFile{path: path, index: map[string]int{}}
	data = strings.TrimPrefix(data, "\uFEFF") // editors on Windows add a BOM
	for i, line := range strings.Split(data, "\n") {
		n := i + 1
		fail := func(msg string) error {
			return &EnvFileError{Path: path, Line: n, Message: msg}
		}
		line = strings.TrimSuffix(line, "\r")
		s := strings.TrimLeft(line, " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			s = strings.TrimLeft(rest, " \t")
		}
		key, raw, ok := strings.Cut(s, "=")
		if !ok || !validKey(key) {
			return nil, fail("expected KEY=VALUE")
		}
		value, err := parseValue(raw)
		if err != "" {
			return nil, fail(err)
		}
		if prev, dup := f.index[key]; dup {
			// Last-one-wins would hide the earlier line from whoever
			// edits the file next; refusing is cheaper than that confusion.
			return nil, fail(key + " already set on line " + strconv.Itoa(f.entries[prev].line))
		}
		f.index[key] = len(f.entries)
		f.entries = append(f.entries, envEntry{key: key, value: value, line: n})
	}
	return f, nil
}

// validKey reports whether k is a portable environment variable name.
func validKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseValue decodes the text after '='. It returns a non-empty message
// instead of an error so the caller can attach file and line.
func parseValue(raw string) (value, errMsg string) {
	// An inline comment needs whitespace before '#', as in shell, so values
	// such as URL fragments or passwords containing '#' survive unquoted.
	if i := inlineComment(raw); i >= 0 {
		raw = raw[:i]
	}
	raw = strings.Trim(raw, " \t")
	if raw == "" {
		return "", ""
	}
	switch raw[0] {
	case '\'':
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", "unterminated single quote"
		}
		if strings.Trim(raw[end+2:], " \t") != "" {
			return "", "unexpected text after closing quote"
		}
		return raw[1 : end+1], ""
	case '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '"':
				if strings.Trim(raw[i+1:], " \t") != "" {
					return "", "unexpected text after closing quote"
				}
				return b.String(), ""
			case c == '\\' && i+1 < len(raw):
				i++
				switch raw[i] {
				case 'n':
					b.WriteByte('\n')
				case '"', '\\':
					b.WriteByte(raw[i])
				default:
					// Unknown escapes stay as written, like in shell.
					b.WriteByte('\\')
					b.WriteByte(raw[i])
				}
			default:
				b.WriteByte(c)
			}
		}
		return "", "unterminated double quote"
	}
	return raw, ""
}

// inlineComment returns the index of the whitespace that starts an inline
// comment in raw, or -1. A '#' inside quotes does not count.
func inlineComment(raw string) int {
	var quote byte
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case (c == '\'' || c == '"') && strings.Trim(raw[:i], " \t") == "":
			quote = c
		case (c == ' ' || c == '\t') && i+1 < len(raw) && raw[i+1] == '#':
			return i
		}
	}
	return -1
}
