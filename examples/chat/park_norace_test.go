//go:build !race

package chat_test

// maxParkedRSS bounds the resident memory one parked pull adds to the
// whole process (server and, here, its client too).
const maxParkedRSS = maxParkedBytes
