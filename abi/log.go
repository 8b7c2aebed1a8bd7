package abi

import (
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// LogLevel clamps a guest's log level to the four levels of the ABI: below
// LogInfo is LogDebug, then each value is rounded down to the level at or
// below it (2 is info, 7 is warn), and anything from LogError up is
// LogError. A guest cannot make a record look more (or less) severe than
// the ABI's levels allow, such as "ERROR+2147483639".
func LogLevel(v int32) slog.Level {
	switch {
	case v < LogInfo:
		return slog.Level(LogDebug)
	case v < LogWarn:
		return slog.Level(LogInfo)
	case v < LogError:
		return slog.Level(LogWarn)
	}
	return slog.Level(LogError)
}

// CutLog returns msg as a string of at most max bytes: msg itself when it
// fits, else its longest prefix that ends on a UTF-8 character boundary
// and, with it, a mark that gives the original length,
// " …[truncated from 1048576 bytes]". Only the kept bytes are copied. A max
// smaller than the mark gives the mark alone.
func CutLog[T string | []byte](msg T, max int) string {
	if len(msg) <= max {
		return string(msg)
	}
	return cutLog(msg, len(msg), max)
}

// CutLogPrefix is CutLog for a record of total bytes of which only the
// first ones, prefix, were kept (a line read in pieces): prefix itself when
// total fits in max, else cut and marked as CutLog does.
func CutLogPrefix(prefix []byte, total, limit int) string {
	total = max(total, len(prefix))
	if total <= limit {
		return string(prefix)
	}
	return cutLog(prefix, total, limit)
}

func cutLog[T string | []byte](msg T, total, max int) string {
	mark := " …[truncated from " + strconv.Itoa(total) + " bytes]"
	keep := min(max-len(mark), len(msg))
	if keep <= 0 {
		return mark[1:]
	}
	// Back up to the start of the character the cut splits: at most
	// UTFMax-1 bytes (invalid UTF-8 is cut where it is).
	for i := 0; i < utf8.UTFMax-1 && keep > 0 && keep < len(msg) && !utf8.RuneStart(msg[keep]); i++ {
		keep--
	}
	return string(msg[:keep]) + mark
}
