package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name, line, key, want string
	}{
		{"plain", "A=b", "A", "b"},
		{"empty", "A=", "A", ""},
		{"export", "export A=b", "A", "b"},
		{"export with tab", "export\tA=b", "A", "b"},
		{"key named export", "export=b", "export", "b"},
		{"indented", "   A=b", "A", "b"},
		{"spaces around value", "A=  b c  ", "A", "b c"},
		{"inline comment", "A=b # note", "A", "b"},
		{"inline comment after tab", "A=b\t# note", "A", "b"},
		{"hash without space is data", "A=pa#ss", "A", "pa#ss"},
		{"only a comment", "A= # note", "A", ""},
		{"equals in value", "A=b=c", "A", "b=c"},
		{"url", "DATABASE_URL=postgres://u:p@h:5432/db?sslmode=require", "DATABASE_URL", "postgres://u:p@h:5432/db?sslmode=require"},
		{"single quotes literal", `A='x \n "y" # z $HOME'`, "A", `x \n "y" # z $HOME`},
		{"single quotes then comment", `A='x' # note`, "A", "x"},
		{"empty single quotes", `A=''`, "A", ""},
		{"double quotes", `A="x y"`, "A", "x y"},
		{"double quote escapes", `A="l1\nl2 \"q\" back\\slash"`, "A", "l1\nl2 \"q\" back\\slash"},
		{"unknown escape kept", `A="a\tb"`, "A", `a\tb`},
		{"hash inside double quotes", `A="a # b" # note`, "A", "a # b"},
		{"escaped quote then hash", `A="a\" # b"`, "A", `a" # b`},
		{"no expansion", `A="$HOME"`, "A", "$HOME"},
		{"quote inside unquoted", `A=it's`, "A", "it's"},
		{"crlf", "A=b\r", "A", "b"},
		{"lowercase key", "a_1=b", "a_1", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseEnvFile(".env", tt.line+"\n")
			if err != nil {
				t.Fatal(err)
			}
			got, src, ok := f.lookup(tt.key)
			if !ok || got != tt.want {
				t.Errorf("%s = %q (found %v), want %q", tt.key, got, ok, tt.want)
			}
			if src != ".env:1" {
				t.Errorf("source = %q, want .env:1", src)
			}
		})
	}
}

func TestParseEnvFileWhole(t *testing.T) {
	data := "\uFEFF# RP CRM production\r\n\r\nexport RPCRM_ENV=prod\r\n  # indented comment\nRPCRM_LISTEN='127.0.0.1:5000'\n\nDATABASE_URL=\"postgres://a:b@h/db\" # app role"
	f, err := parseEnvFile(".env.production", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []envEntry{
		{"RPCRM_ENV", "prod", 3},
		{"RPCRM_LISTEN", "127.0.0.1:5000", 5},
		{"DATABASE_URL", "postgres://a:b@h/db", 7},
	}
	if len(f.entries) != len(want) {
		t.Fatalf("got %v, want %v", f.entries, want)
	}
	for i := range want {
		if f.entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, f.entries[i], want[i])
		}
	}
}

func TestParseEnvFileErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"no equals", "A=b\nJUST_A_WORD\n", ".env.production:2: expected KEY=VALUE"},
		{"space before equals", "\n\n\nA = b\n", ".env.production:4: expected KEY=VALUE"},
		{"empty key", "=b", ".env.production:1: expected KEY=VALUE"},
		{"digit first", "1A=b", ".env.production:1: expected KEY=VALUE"},
		{"dash in key", "MY-KEY=b", ".env.production:1: expected KEY=VALUE"},
		{"bare export", "export", ".env.production:1: expected KEY=VALUE"},
		{"shell command", "echo hi", ".env.production:1: expected KEY=VALUE"},
		{"unterminated single", "A='abc", ".env.production:1: unterminated single quote"},
		{"unterminated double", "A=\"abc\nB=c\"", ".env.production:1: unterminated double quote"},
		{"text after single quote", "A='a'b", ".env.production:1: unexpected text after closing quote"},
		{"text after double quote", `A="a" b`, ".env.production:1: unexpected text after closing quote"},
		{"duplicate", "A=1\n# x\nA=2", ".env.production:3: A already set on line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseEnvFile(".env.production", tt.data)
			var fe *EnvFileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want an *EnvFileError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("got %q, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadReportsBadEnvFileLine(t *testing.T) {
	path := writeFile(t, ".env.production", "RPCRM_ENV=prod\n\n# db\nDATABASE_URL="+testDB+"\n\n\nnot a setting\n")
	o := opts(nil)
	o.EnvFile = path
	_, err := Load(o)
	if err == nil || err.Error() != path+":7: expected KEY=VALUE" {
		t.Errorf("got %v", err)
	}
	if strings.Contains(err.Error(), "app-pw") {
		t.Errorf("error shows the password: %v", err)
	}
}
