//go:build race

package chat_test

// maxParkedRSS bounds the resident memory one parked pull adds under the
// race detector, whose shadow memory inflates it: 383 KiB was measured on
// 2 cores in CI. 1 MiB still fails a pull that holds an instance (2.4 MiB
// of linear memory alone).
const maxParkedRSS = 1 << 20
