package config

import (
	"errors"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/internal/bytesize"
)

// ParseSize parses a size: a whole number of bytes, or of the unit after it
// (B, KB, MB, GB, KiB, MiB, GiB, case-insensitive), such as "64KiB".
func ParseSize(s string) (int64, error) { return bytesize.Parse(s) }

// formatSize writes n with the largest binary unit that divides it.
func formatSize(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10) + "B"
}

// parseOctalMode parses a permission string such as "0660" or "660".
func parseOctalMode(s string) (uint32, error) {
	t := strings.TrimPrefix(s, "0o")
	if t == "" || len(t) > 4 {
		return 0, errors.New("want an octal string such as \"0660\"")
	}
	n, err := strconv.ParseUint(t, 8, 32)
	if err != nil {
		return 0, errors.New("want an octal string such as \"0660\"")
	}
	if n > 0o777 {
		return 0, errors.New("must be at most 0777")
	}
	if n == 0 {
		return 0, errors.New("must not be 0 (leave socket_mode out to keep the default)")
	}
	return uint32(n), nil
}

// typeName names the TOML type of a decoded value, for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case map[string]any:
		return "table"
	case []map[string]any:
		return "array of tables"
	case []any:
		return "array"
	}
	return "date-time"
}
