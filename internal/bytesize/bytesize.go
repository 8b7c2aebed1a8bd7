// Package bytesize parses the sizes of configuration values and URL
// parameters ("64KiB", "1MB", "512"), for the packages that read them
// (server/config, server/amqp).
package bytesize

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

// Parse parses a size string: a non-negative decimal integer optionally
// followed, after an optional space, by a unit B, KB, MB, GB (powers of
// 1000) or KiB, MiB, GiB (powers of 1024), case-insensitive. A number
// without a unit counts bytes.
func Parse(s string) (int64, error) {
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
