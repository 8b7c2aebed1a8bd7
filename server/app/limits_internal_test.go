package app

import "testing"

func TestParseMemoryFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want int64
	}{
		{"cgroup v2 limit", "1073741824\n", 1 << 30},
		{"cgroup v2 none", "max\n", 0},
		{"cgroup v1 none", "9223372036854771712\n", 0},
		{"empty", "", 0},
		{"negative", "-1", 0},
		{"zero", "0", 0},
		{"junk", "12abc", 0},
		{"overflow", "99999999999999999999999", 0},
	} {
		if got := parseCgroupLimit([]byte(c.in)); got != c.want {
			t.Errorf("parseCgroupLimit %s (%q) = %d, want %d", c.name, c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		in   string
		want int64
	}{
		{"meminfo", "MemFree:  1 kB\nMemTotal:       24684016 kB\n", 24684016 << 10},
		{"no unit", "MemTotal: 1024\n", 1 << 20},
		{"missing", "MemFree: 1 kB\n", 0},
		{"junk", "MemTotal: lots kB\n", 0},
		{"negative", "MemTotal: -5 kB\n", 0},
		{"huge", "MemTotal: 9223372036854775807 kB\n", 0},
		{"empty", "", 0},
	} {
		if got := parseMemTotal([]byte(c.in)); got != c.want {
			t.Errorf("parseMemTotal %s (%q) = %d, want %d", c.name, c.in, got, c.want)
		}
	}
	if b := DefaultMemoryBudget(); b < 1<<20 {
		t.Errorf("DefaultMemoryBudget() = %d", b)
	}
}
