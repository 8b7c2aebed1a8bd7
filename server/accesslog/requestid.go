package accesslog

import (
	"context"
	"log/slog"
	"math/rand/v2"
)

// MaxIDLength is the longest X-Request-Id a client may choose.
const MaxIDLength = 64

// idAlphabet is the 32 characters of a made id (5 bits each).
const idAlphabet = "0123456789abcdefghijklmnopqrstuv"

// idLength is the length of a made id: 80 random bits.
const idLength = 16

// NewID returns a new request id: 16 characters of 0-9a-v holding 80 bits
// from math/rand/v2, whose generator (ChaCha8, seeded by the operating
// system) costs nanoseconds and needs no lock. Ids are unpredictable and,
// at 80 bits, do not repeat in practice.
func NewID() string {
	var b [idLength]byte
	hi, lo := rand.Uint64(), rand.Uint32()
	for i := range 12 {
		b[i] = idAlphabet[hi&31]
		hi >>= 5
	}
	for i := 12; i < idLength; i++ {
		b[i] = idAlphabet[lo&31]
		lo >>= 5
	}
	return string(b[:])
}

// ValidID reports whether a client's X-Request-Id may be kept: 1 to
// MaxIDLength characters of A-Z a-z 0-9 and "-_.:+/=". Anything else (a
// space, a quote, a control or non-ASCII byte, two headers joined by ", ")
// could forge or break log lines and is replaced.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '+', c == '/', c == '=':
		default:
			return false
		}
	}
	return true
}

type idKey struct{}

// WithID returns ctx carrying the request id.
func WithID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, idKey{}, id)
}

// ID returns the request id ctx carries, or "".
func ID(ctx context.Context) string {
	id, _ := ctx.Value(idKey{}).(string)
	return id
}

// IDKey is the attribute key of the request id in every record.
const IDKey = "request_id"

// Handler returns a handler that adds request_id to each record logged
// with a context that carries one (WithID), then passes it to h.
func Handler(h slog.Handler) slog.Handler {
	if _, ok := h.(idHandler); ok {
		return h
	}
	return idHandler{h}
}

type idHandler struct{ slog.Handler }

func (h idHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String(IDKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h idHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return idHandler{h.Handler.WithAttrs(attrs)}
}

func (h idHandler) WithGroup(name string) slog.Handler {
	return idHandler{h.Handler.WithGroup(name)}
}
