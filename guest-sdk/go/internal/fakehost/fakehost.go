// Package fakehost is an in-memory implementation of the bubblewasm_v1
// imports that enforces the ABI's rules, for running guest handlers in plain
// Go tests. Package bubbletest is its public face.
package fakehost

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"

	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Record is one call to the log import.
type Record struct {
	Level int32
	Msg   string
}

// Host is one simulated exchange. Set Env, In, Out and Ext before use; the
// rest is the state the guest's calls leave behind.
type Host struct {
	Env map[string]string
	In  io.Reader // nil reads as empty
	Out io.Writer // receives the output; nil discards it

	Status    int                 // 200 unless set
	Header    map[string][]string // canonical names
	Committed bool                // metadata was committed by write or flush
	Flushes   int
	Logs      []Record

	// Ext is the extensions' state, shared between exchanges; nil denies
	// every extension call.
	Ext *Ext

	// Park is the exchange's parking state (bubblewasm_park_v1), kept
	// across its runs.
	Park ParkState

	eof bool

	// The outbound HTTP responses open (http.go).
	responses    map[int32]*fakeResponse
	lastResponse int32

	// The last dial call's reply, kept for reply and status.
	dialed bool
	reply  []byte
	status int
}

// New returns a Host for env, reading in and writing to out.
func New(env map[string]string, in io.Reader, out io.Writer) *Host {
	return &Host{Env: env, In: in, Out: out, Status: 200, Header: map[string][]string{}}
}

var _ host.Host = (*Host)(nil)

func fill(buf, data []byte) int32 {
	if len(data) <= len(buf) {
		copy(buf, data)
	}
	return int32(len(data))
}

// EnvGet implements env_get.
func (h *Host) EnvGet(key string, buf []byte) int32 {
	v, ok := h.Env[key]
	if !ok {
		return spec.ErrNotFound
	}
	return fill(buf, []byte(v))
}

// EnvKeys implements env_keys.
func (h *Host) EnvKeys(buf []byte) int32 {
	keys := make([]string, 0, len(h.Env))
	for k := range h.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var all bytes.Buffer
	for _, k := range keys {
		all.WriteString(k)
		all.WriteByte(0)
	}
	return fill(buf, all.Bytes())
}

// EnvAll implements env_all.
func (h *Host) EnvAll(buf []byte) int32 {
	keys := make([]string, 0, len(h.Env))
	for k := range h.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var all []byte
	for _, k := range keys {
		all = append(all, k...)
		all = append(all, 0)
		all = binary.LittleEndian.AppendUint32(all, uint32(len(h.Env[k])))
		all = append(all, h.Env[k]...)
	}
	return fill(buf, all)
}

// Read implements read.
func (h *Host) Read(buf []byte) int32 {
	if len(buf) == 0 {
		return spec.ErrInvalid
	}
	if h.eof || h.In == nil {
		return 0
	}
	for {
		n, err := h.In.Read(buf)
		if n > 0 {
			return int32(n)
		}
		if err == io.EOF {
			h.eof = true
			return 0
		}
		if err != nil {
			return code(err)
		}
	}
}

// Write implements write.
func (h *Host) Write(buf []byte) int32 {
	h.Committed = true
	if h.Out != nil {
		if _, err := h.Out.Write(buf); err != nil {
			return code(err)
		}
	}
	return int32(len(buf))
}

// Flush implements flush.
func (h *Host) Flush() int32 {
	h.Committed = true
	h.Flushes++
	return 0
}

// SetStatus implements set_status.
func (h *Host) SetStatus(c int32) int32 {
	switch {
	case c < 200 || c > 999:
		return spec.ErrInvalid
	case h.Committed:
		return spec.ErrCommitted
	}
	h.Status = int(c)
	return 0
}

// SetHeader implements set_header.
func (h *Host) SetHeader(name, value string) int32 { return h.header(name, value, false) }

// AddHeader implements add_header.
func (h *Host) AddHeader(name, value string) int32 { return h.header(name, value, true) }

func (h *Host) header(name, value string, add bool) int32 {
	k := host.CanonicalHeaderKey(name)
	switch {
	case !spec.ResponseHeaderOK(name, value):
		return spec.ErrInvalid
	case h.Committed:
		return spec.ErrCommitted
	case add && k == "Content-Length" && len(h.Header[k]) > 0:
		return spec.ErrInvalid // one length per response
	}
	if add {
		h.Header[k] = append(h.Header[k], value)
	} else {
		h.Header[k] = []string{value}
	}
	return 0
}

// Log implements log.
func (h *Host) Log(level int32, msg string) {
	h.Logs = append(h.Logs, Record{level, msg})
}

// code maps an I/O error to an ABI code the way the real host does.
func code(err error) int32 {
	if c, ok := host.CodeOf(err); ok {
		return c
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return spec.ErrTimeout
	case errors.Is(err, io.ErrClosedPipe), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.Canceled), errors.Is(err, os.ErrClosed):
		return spec.ErrClosed
	}
	return spec.ErrIO
}
