package bubble

import (
	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Level is the severity of a log record; the values are those of log/slog.
type Level int32

// Log levels of the host ABI.
const (
	LevelDebug = Level(spec.LogDebug)
	LevelInfo  = Level(spec.LogInfo)
	LevelWarn  = Level(spec.LogWarn)
	LevelError = Level(spec.LogError)
)

// Log writes msg to the server log at level; the host tags it with the
// route. Call it during an exchange.
//
// There is deliberately no Logf: importing package fmt adds about 390 KiB
// to every module and runs package os's initializers in each new instance.
// A module that links fmt anyway can write
//
//	bubble.Log(bubble.LevelInfo, fmt.Sprintf("took %v", d))
func Log(level Level, msg string) { host.Current.Log(int32(level), msg) }
