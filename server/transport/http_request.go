package transport

import (
	"net/http"
	"net/url"
	"strings"
)

// request is the head of one HTTP/1 request: its request line and header
// fields (RFC 9112 §3, §5). Every string in it is a substring of head, the
// one copy of the header block the transport makes per request.
type request struct {
	head   string // the request line and fields as received, up to and including the empty line
	method string
	target string // the request-target exactly as sent (REQUEST_URI)
	proto  string // the HTTP-version as sent: "HTTP/1.1"
	major  int
	minor  int
	fields []headerField // every field line, in order

	host     string // from an absolute-form or authority-form target, else the Host field
	hosts    int    // Host field lines
	length   int64  // Content-Length, -1 when absent
	rawLen   string // the Content-Length value as sent
	chunked  bool   // Transfer-Encoding: chunked
	close    bool   // the client does not keep the connection: Connection: close, or HTTP/1.0 without keep-alive
	http10KA bool   // HTTP/1.0 with Connection: keep-alive
	expect   bool   // Expect: 100-continue on a request with a body
	expectNo bool   // an Expect the transport cannot meet (417)
	path     string // the target's path, percent-decoded, before cleaning
	query    string // the target's query, raw
}

// http10 reports whether the request is HTTP/1.0.
func (r *request) http10() bool { return r.major == 1 && r.minor == 0 }

// headerField is one field line: name as sent, value with surrounding
// whitespace removed.
type headerField struct{ name, value string }

// httpError is a request the transport refuses before any handler sees
// it: the status and a short text for the response body. Every one ends
// the connection after its response.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// Refusals of malformed heads. Each says what was wrong, in the words a
// client's developer would search for.
var (
	errBadRequestLine  = &httpError{http.StatusBadRequest, "malformed request line"}
	errBadMethod       = &httpError{http.StatusBadRequest, "malformed method"}
	errBadTarget       = &httpError{http.StatusBadRequest, "malformed request target"}
	errBadVersion      = &httpError{http.StatusBadRequest, "malformed HTTP version"}
	errBareCR          = &httpError{http.StatusBadRequest, "bare CR in the request head"}
	errObsFold         = &httpError{http.StatusBadRequest, "folded header line (obs-fold) or leading whitespace"}
	errBadFieldName    = &httpError{http.StatusBadRequest, "malformed header field name"}
	errBadFieldValue   = &httpError{http.StatusBadRequest, "invalid byte in a header field value"}
	errBadLength       = &httpError{http.StatusBadRequest, "malformed Content-Length"}
	errTwoLengths      = &httpError{http.StatusBadRequest, "conflicting Content-Length values"}
	errLengthAndTE     = &httpError{http.StatusBadRequest, "both Transfer-Encoding and Content-Length"}
	errHTTP10TE        = &httpError{http.StatusBadRequest, "Transfer-Encoding on an HTTP/1.0 request"}
	errUnsupportedTE   = &httpError{http.StatusNotImplemented, "unsupported Transfer-Encoding"}
	errNoHost          = &httpError{http.StatusBadRequest, "missing required Host header"}
	errManyHosts       = &httpError{http.StatusBadRequest, "too many Host headers"}
	errBadHost         = &httpError{http.StatusBadRequest, "malformed Host header"}
	errBadEscape       = &httpError{http.StatusBadRequest, "malformed percent-encoding in the path"}
	errTooManyBlank    = &httpError{http.StatusBadRequest, "too many empty lines before the request line"}
	errUserinfo        = &httpError{http.StatusBadRequest, "userinfo in the request target"}
	errNoTargetHost    = &httpError{http.StatusBadRequest, "empty host in the request target"}
	errBadTargetHost   = &httpError{http.StatusBadRequest, "malformed host in the request target"}
	errUnsupportedForm = &httpError{http.StatusBadRequest, "request target scheme is not http or https"}
)

// maxLeadingBlank is how many empty lines before a request line are
// ignored (RFC 9112 §2.2 asks servers to ignore at least one).
const maxLeadingBlank = 4

// parseHead parses head, a request line and its field lines ending with
// an empty line (each line ending in CRLF or a bare LF), into r. It
// refuses, with the status to answer, anything RFC 9112 calls invalid and
// everything whose framing two parsers could read differently: obs-fold,
// bare CR, Transfer-Encoding with Content-Length or on HTTP/1.0, two
// different lengths, a coding other than chunked.
func parseHead(head string, r *request) *httpError {
	fields := r.fields[:0]
	*r = request{head: head, length: -1, fields: fields}
	if !strings.HasSuffix(head, "\n\n") && !strings.HasSuffix(head, "\n\r\n") {
		return errBadRequestLine // not a whole head
	}
	line, rest, ok := cutLine(head)
	if !ok {
		return errBareCR
	}
	if err := r.parseRequestLine(line); err != nil {
		return err
	}
	var te int // Transfer-Encoding field lines
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return errBareCR
		}
		if line == "" {
			if rest != "" {
				return errBadRequestLine // more than one head
			}
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errObsFold
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return errBadFieldName
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		if !validFieldValue(value) {
			return errBadFieldValue
		}
		r.fields = append(r.fields, headerField{name, value})
		if err := r.framingField(name, value, &te); err != nil {
			return err
		}
	}
	return r.check(te)
}

// framingField notes the fields that frame the request or the connection.
func (r *request) framingField(name, value string, te *int) *httpError {
	switch len(name) {
	case len("Host"):
		if strings.EqualFold(name, "Host") {
			r.hosts++
			if !validHost(value) {
				return errBadHost
			}
			r.host = value
		}
	case len("Expect"):
		if strings.EqualFold(name, "Expect") {
			if strings.EqualFold(value, "100-continue") {
				r.expect = true
			} else if value != "" {
				r.expectNo = true
			}
		}
	case len("Connection"):
		if strings.EqualFold(name, "Connection") {
			r.connectionTokens(value)
		}
	case len("Content-Length"):
		if !strings.EqualFold(name, "Content-Length") {
			return nil
		}
		n, ok := parseLength(value)
		if !ok {
			return errBadLength
		}
		if r.length >= 0 && r.length != n {
			return errTwoLengths
		}
		r.length, r.rawLen = n, value
	case len("Transfer-Encoding"):
		if strings.EqualFold(name, "Transfer-Encoding") {
			*te++
			r.chunked = strings.EqualFold(value, "chunked")
		}
	}
	return nil
}

// connectionTokens reads the options of a Connection field.
func (r *request) connectionTokens(v string) {
	for v != "" {
		var tok string
		tok, v, _ = strings.Cut(v, ",")
		switch tok = trimOWS(tok); {
		case strings.EqualFold(tok, "close"):
			r.close = true
		case strings.EqualFold(tok, "keep-alive"):
			r.http10KA = true
		}
	}
}

// check applies the rules that need the whole head.
func (r *request) check(te int) *httpError {
	switch {
	case te > 0 && r.http10():
		// RFC 9112 §6.1: the framing of an HTTP/1.0 message with
		// Transfer-Encoding is faulty.
		return errHTTP10TE
	case te > 1 || te == 1 && !r.chunked:
		return errUnsupportedTE
	case te > 0 && r.length >= 0:
		// RFC 9112 §6.1: a request smuggling attempt, or a broken proxy.
		return errLengthAndTE
	case r.hosts > 1:
		return errManyHosts
	case r.hosts == 0 && r.major == 1 && r.minor >= 1 && r.method != http.MethodConnect:
		return errNoHost
	}
	if r.major != 1 {
		r.close = true // only PRI gets here, when a route names it
	}
	if r.http10() {
		r.close = r.close || !r.http10KA
		r.expect = false // HTTP/1.0 clients do not wait for 100 Continue
	}
	if !r.chunked && r.length <= 0 {
		r.expect = false // nothing to wait for
	}
	return r.parseTarget()
}

// parseRequestLine splits "method SP request-target SP HTTP-version".
func (r *request) parseRequestLine(line string) *httpError {
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return errBadRequestLine
	}
	if !isToken(method) {
		return errBadMethod
	}
	if target == "" || !validTarget(target) {
		return errBadTarget
	}
	major, minor, ok := parseVersion(proto)
	if !ok {
		return errBadVersion
	}
	r.method, r.target, r.proto, r.major, r.minor = internMethod(method), target, proto, major, minor
	return nil
}

// parseVersion reads "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
func parseVersion(v string) (major, minor int, ok bool) {
	switch v {
	case "HTTP/1.1":
		return 1, 1, true
	case "HTTP/1.0":
		return 1, 0, true
	}
	if len(v) != len("HTTP/1.1") || v[:5] != "HTTP/" || v[6] != '.' || !isDigit(v[5]) || !isDigit(v[7]) {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// parseTarget splits the request-target (RFC 9112 §3.2) into the path
// routes see, the query and, for the absolute and authority forms, the
// host.
func (r *request) parseTarget() *httpError {
	t := r.target
	switch {
	case t[0] == '/':
		// origin-form
	case t == "*":
		r.path = "*"
		return nil
	case hasHTTPScheme(t) >= 0:
		// absolute-form, read as net/url reads it; its authority replaces
		// the Host field (§3.2.2).
		u, err := url.ParseRequestURI(t)
		switch {
		case err != nil:
			return errBadTarget
		case u.User != nil:
			return errUserinfo // RFC 9110 §4.2.4
		case u.Host == "":
			return errNoTargetHost // RFC 9110 §4.2.1
		case !validHost(u.Host):
			return errBadTargetHost
		}
		r.host, r.path, r.query = u.Host, u.Path, u.RawQuery
		if r.path == "" {
			r.path = "/" // RFC 9110 §4.2.3
		}
		return nil
	case r.method == http.MethodConnect:
		// authority-form
		if !validHost(t) || strings.IndexByte(t, '@') >= 0 {
			return errBadTarget
		}
		r.host = t
		return nil
	case strings.Contains(t, "://"):
		return errUnsupportedForm
	default:
		return errBadTarget
	}
	path, query, _ := strings.Cut(t, "?")
	r.query = query
	if strings.IndexByte(path, '%') < 0 {
		r.path = path
		return nil
	}
	p, ok := unescapePath(path)
	if !ok {
		return errBadEscape
	}
	r.path = p
	return nil
}

// hasHTTPScheme returns the length of an "http://" or "https://" prefix
// of t (any case), or -1.
func hasHTTPScheme(t string) int {
	switch {
	case len(t) >= len("http://") && strings.EqualFold(t[:len("http://")], "http://"):
		return len("http://")
	case len(t) >= len("https://") && strings.EqualFold(t[:len("https://")], "https://"):
		return len("https://")
	}
	return -1
}

// unescapePath decodes %XX escapes; any other "%" is an error.
func unescapePath(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", false
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), true
}

// cutLine returns the first line of s without its terminator (CRLF or a
// bare LF) and the rest. ok is false when the line holds a CR anywhere
// else; a line without a terminator is returned whole with rest "".
func cutLine(s string) (line, rest string, ok bool) {
	i := strings.IndexByte(s, '\n')
	if i < 0 {
		line, rest = s, ""
	} else {
		line, rest = s[:i], s[i+1:]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, strings.IndexByte(line, '\r') < 0
}

// parseLength reads a Content-Length value: 1 to 18 digits, so that it
// cannot overflow.
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// trimOWS removes optional whitespace (SP, HTAB) around s.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// internMethod returns the standard method names as constants, so that a
// request does not keep its head alive through its method.
func internMethod(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodPatch:
		return http.MethodPatch
	}
	return m
}

// asciiSet is a set of bytes; only ASCII ones can be members.
type asciiSet [4]uint64

func makeASCIISet(chars string) asciiSet {
	var s asciiSet
	for i := 0; i < len(chars); i++ {
		s[chars[i]>>6] |= 1 << (chars[i] & 63)
	}
	return s
}

func (s *asciiSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

const (
	alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

var (
	// tokenChars are RFC 9110 §5.6.2's tchar.
	tokenChars = makeASCIISet(alnum + "!#$%&'*+-.^_`|~")
	// hostChars are the bytes of a reg-name, an IP literal and a port
	// (RFC 3986 §3.2.2), as Go's net/http accepts them in Host.
	hostChars = makeASCIISet(alnum + "!$%&'()*+,-.:;=[]_~")
)

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChars.has(s[i]) {
			return false
		}
	}
	return true
}

// validHost reports whether h may be a Host value: empty (HTTP/1.0 and
// CONNECT aside, the empty Host of RFC 9112 §3.2) or made of host bytes.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostChars.has(h[i]) {
			return false
		}
	}
	return true
}

// validTarget reports whether a request-target holds only visible bytes:
// no control byte, space or DEL (bytes above 0x7F pass, as in net/http).
func validTarget(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v is a field value of RFC 9110 §5.5:
// no control byte other than HTAB, no DEL.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
