package lineio

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	long := strings.Repeat("x", 40) // over bufio's 16-byte minimum buffer
	tests := []struct {
		name, in string
		max      int
		skip     bool
		want     []string // the lines, then "err:" and the last error
	}{
		{"lines", "a\nbc\n", 8, false, []string{"a\n", "bc\n", "err:EOF"}},
		{"partial line at EOF", "a\nbc", 8, false, []string{"a\n", "bc err:EOF"}},
		{"exactly max", "abc\n", 4, false, []string{"abc\n", "err:EOF"}},
		{"over max", "abcd\nx\n", 4, false, []string{"err:line too long"}},
		{"over max, skipped", "abcd\nx\n", 4, true, []string{"err:line too long", "x\n", "err:EOF"}},
		{"long line over the buffer, skipped", long + "\nx\n", 8, true, []string{"err:line too long", "x\n", "err:EOF"}},
		{"long line within max", long + "\n", 64, false, []string{long + "\n", "err:EOF"}},
		{"over max at EOF, skipped", long, 8, true, []string{"err:line too long", "err:EOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			var got []string
			for len(got) < 10 {
				var line []byte
				var err error
				if tt.skip {
					line, err = ReadOrSkip(r, tt.max)
				} else {
					line, err = Read(r, tt.max)
				}
				switch {
				case err == nil:
					got = append(got, string(line))
					continue
				case len(line) > 0:
					got = append(got, string(line)+" err:"+err.Error())
				default:
					got = append(got, "err:"+err.Error())
				}
				if errors.Is(err, io.EOF) || !tt.skip {
					break
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
