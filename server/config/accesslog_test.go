package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// [access_log]: defaults, each output and format, and hostile values named
// by file, line and key.
func TestAccessLog(t *testing.T) {
	const route = "[[route]]\nmodule = \"a.wasm\"\n"
	abs, _ := filepath.Abs("logs/access.log")
	for _, c := range []struct {
		name, body     string
		output, format string
		err            string
	}{
		{"default", route, "", "", ""},
		{"off", route + "[access_log]\noutput = \"off\"\n", AccessLogOff, "", ""},
		{"stdout json", route + "[access_log]\noutput = \"STDOUT\"\nformat = \"json\"\n", AccessLogStdout, FormatJSON, ""},
		{"file", route + "[access_log]\noutput = \"logs/access.log\"\nformat = \"text\"\n", abs, FormatText, ""},
		{"absolute file", route + "[access_log]\noutput = \"/var/log/a.log\"\n", "/var/log/a.log", "", ""},
		{"empty output", route + "[access_log]\noutput = \"\"\n", "", "", "bubble.toml:4: access_log.output: must not be empty"},
		{"NUL in output", route + "[access_log]\noutput = \"a\\u0000b\"\n", "", "", "bubble.toml:4: access_log.output: must not contain NUL"},
		{"output a number", route + "[access_log]\noutput = 2\n", "", "", "bubble.toml:4: access_log.output: must be a string, not integer"},
		{"output a bool", route + "[access_log]\noutput = false\n", "", "", "bubble.toml:4: access_log.output: must be a string, not boolean"},
		{"garbage format", route + "[access_log]\nformat = \"xml\"\n", "", "", `bubble.toml:4: access_log.format: unknown access log format "xml"`},
		{"format a number", route + "[access_log]\nformat = -1\n", "", "", "bubble.toml:4: access_log.format: must be a string, not integer"},
		{"unknown key", route + "[access_log]\nlevel = \"info\"\n", "", "", "bubble.toml:4: access_log.level: unknown key (allowed: output, format)"},
		{"not a table", "access_log = \"stderr\"\n" + route, "", "", "bubble.toml:1: access_log: must be a table, not string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("bubble.toml", []byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AccessLog.Output != c.output || cfg.AccessLog.Format != c.format {
				t.Errorf("AccessLog %+v, want output %q format %q", cfg.AccessLog, c.output, c.format)
			}
		})
	}
}
