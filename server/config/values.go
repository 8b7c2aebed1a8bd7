package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the units a size string may carry, by lower-case name.
var sizeUnits = map[string]int64{
	"b":   1,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
}

const sizeUnitList = "B, KB, MB, GB, KiB, MiB, GiB"

// ParseSize parses a size string: a non-negative decimal integer optionally
// followed, after an optional space, by a unit B, KB, MB, GB (powers of
// 1000) or KiB, MiB, GiB (powers of 1024), case-insensitive. A number
// without a unit counts bytes.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("want a whole number of bytes with an optional unit, such as \"64KiB\"")
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, errors.New("number out of range")
	}
	if i < len(t) && t[i] == '.' {
		return 0, errors.New("fractions are not allowed; use a smaller unit")
	}
	unit := strings.TrimPrefix(t[i:], " ")
	mult := int64(1)
	if unit != "" {
		m, ok := sizeUnits[strings.ToLower(unit)]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q (allowed: %s)", unit, sizeUnitList)
		}
		mult = m
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("number out of range")
	}
	return n * mult, nil
}

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
