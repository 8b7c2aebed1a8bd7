//go:build !linux

package memimage

import (
	"errors"
	"testing"
)

func reservation(t testing.TB, n int) ([]byte, func()) { return make([]byte, n), func() {} }

func writeFile(int, []byte) error { return errors.ErrUnsupported }
