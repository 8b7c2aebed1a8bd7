package config

import "strings"

// The [access_log] table: where the one record per exchange goes (package
// server/accesslog) and in which format.

// Values of access_log.output besides a file path, and of access_log.format.
const (
	AccessLogStderr = "stderr"
	AccessLogStdout = "stdout"
	AccessLogOff    = "off"

	FormatText = "text"
	FormatJSON = "json"
)

// DefaultAccessLogOutput is where access records go by default.
const DefaultAccessLogOutput = AccessLogStderr

// AccessLog is the [access_log] table.
type AccessLog struct {
	// Output is AccessLogStderr, AccessLogStdout, AccessLogOff or an
	// absolute file path (a relative one in the file is made absolute
	// against the file's directory), appended to. "" means
	// DefaultAccessLogOutput.
	Output string
	// Format is FormatText or FormatJSON; "" means the server log's format.
	Format string
	// Line is the line of the table in the file (0: absent).
	Line int
}

var (
	accessLogKeys    = []string{"output", "format"}
	accessLogFormats = []string{FormatText, FormatJSON}
)

// accessLog reads the [access_log] table.
func (c *checker) accessLog(root table, cfg *Config) {
	t, ok := c.subtable(root, "access_log", accessLogKeys)
	if !ok {
		return
	}
	cfg.AccessLog.Line = t.line
	if f, ok := c.get(t, "output"); ok {
		switch s, _ := f.v.(string); strings.ToLower(s) {
		case AccessLogStderr, AccessLogStdout, AccessLogOff:
			cfg.AccessLog.Output = strings.ToLower(s)
		default:
			if p, ok := c.path(f); ok {
				cfg.AccessLog.Output = p
			}
		}
	}
	if f, ok := c.get(t, "format"); ok {
		if s, ok := c.oneOf(f, "access log format", accessLogFormats); ok {
			cfg.AccessLog.Format = s
		}
	}
}
