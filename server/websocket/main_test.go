package websocket_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every socket's goroutines (its reader, follows, pings) end with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
