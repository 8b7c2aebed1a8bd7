package transport

import (
	"bufio"
	"errors"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

// headErrors are every error parseHead may return: a refusal is always
// one of them.
var headErrors = []*httpError{
	errBadRequestLine, errBadMethod, errBadTarget, errBadVersion, errBareCR, errObsFold,
	errBadFieldName, errBadFieldValue, errBadLength, errTwoLengths, errLengthAndTE, errHTTP10TE,
	errUnsupportedTE, errNoHost, errManyHosts, errBadHost, errBadEscape, errUserinfo, errUnsupportedForm,
	errNoTargetHost, errBadTargetHost,
}

func TestParseHead(t *testing.T) {
	type want struct {
		method, target, proto, host, path, query string
		length                                   int64
		chunked, close, expect                   bool
		fields                                   int
	}
	ok := []struct {
		head string
		want want
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", want{"GET", "/", "HTTP/1.1", "x", "/", "", -1, false, false, false, 1}},
		{"GET /a%20b/c?x=1&y=%2F HTTP/1.1\nHost: h:80\n\n", want{"GET", "/a%20b/c?x=1&y=%2F", "HTTP/1.1", "h:80", "/a b/c", "x=1&y=%2F", -1, false, false, false, 1}},
		{"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", want{"POST", "/p", "HTTP/1.1", "x", "/p", "", 5, false, false, false, 3}},
		{"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked \r\nExpect: 100-Continue\r\n\r\n", want{"POST", "/p", "HTTP/1.1", "x", "/p", "", -1, true, false, true, 3}},
		{"GET / HTTP/1.0\r\n\r\n", want{"GET", "/", "HTTP/1.0", "", "/", "", -1, false, true, false, 0}},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", want{"GET", "/", "HTTP/1.0", "", "/", "", -1, false, false, false, 1}},
		{"GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n\r\n", want{"GET", "/", "HTTP/1.1", "x", "/", "", -1, false, true, false, 2}},
		{"GET http://Example.com:8080?q HTTP/1.1\r\nHost: other\r\n\r\n", want{"GET", "http://Example.com:8080?q", "HTTP/1.1", "Example.com:8080", "/", "q", -1, false, false, false, 1}},
		{"CONNECT example.com:443 HTTP/1.1\r\n\r\n", want{"CONNECT", "example.com:443", "HTTP/1.1", "example.com:443", "", "", -1, false, false, false, 0}},
		{"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", want{"OPTIONS", "*", "HTTP/1.1", "x", "*", "", -1, false, false, false, 1}},
		{"PRI * HTTP/2.0\r\n\r\n", want{"PRI", "*", "HTTP/2.0", "", "*", "", -1, false, true, false, 0}},
		{"GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n", want{"GET", "/", "HTTP/1.1", "x", "/", "", -1, false, false, false, 3}},
		{"M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n", want{"M-SEARCH", "*", "HTTP/1.1", "x", "*", "", -1, false, false, false, 1}},
	}
	for _, c := range ok {
		var r request
		if err := parseHead(c.head, &r); err != nil {
			t.Errorf("%q: %v", c.head, err)
			continue
		}
		got := want{r.method, r.target, r.proto, r.host, r.path, r.query, r.length, r.chunked, r.close, r.expect, len(r.fields)}
		if got != c.want {
			t.Errorf("%q:\n got %+v\nwant %+v", c.head, got, c.want)
		}
	}
	bad := []struct {
		head string
		err  *httpError
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", errObsFold},
		{"GET / HTTP/1.1\r\n Host: x\r\n\r\n", errObsFold},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n", errBareCR},
		{"GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", errBareCR},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\r\n\r\n", errBareCR},
		{"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", errBadTarget},
		{"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", errBadVersion},
		{"GET / http/1.1\r\nHost: x\r\n\r\n", errBadVersion},
		{"GET / HTTP/1.10\r\nHost: x\r\n\r\n", errBadVersion},
		{"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", errBadMethod},
		{"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", errBadRequestLine},
		{"GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", errBadTarget},
		{"GET a/b HTTP/1.1\r\nHost: x\r\n\r\n", errBadTarget},
		{"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n", errUnsupportedForm},
		{"GET http://u@x/ HTTP/1.1\r\nHost: x\r\n\r\n", errUserinfo},
		{"GET http:/// HTTP/1.1\r\nHost: x\r\n\r\n", errNoTargetHost},
		{"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", errBadEscape},
		{"GET /%2 HTTP/1.1\r\nHost: x\r\n\r\n", errBadEscape},
		{"GET / HTTP/1.1\r\nHost : x\r\n\r\n", errBadFieldName},
		{"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", errBadFieldName},
		{"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", errBadFieldName},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", errBadFieldValue},
		{"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n", errBadFieldValue},
		{"GET / HTTP/1.1\r\n\r\n", errNoHost},
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", errManyHosts},
		{"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errBadHost},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", errTwoLengths},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", errBadLength},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", errBadLength},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", errBadLength},
		{"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", errBadLength},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", errLengthAndTE},
		{"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errHTTP10TE},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", errUnsupportedTE},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", errUnsupportedTE},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errUnsupportedTE},
		{"GET / HTTP/1.1\r\nHost: x\r\n", errBadRequestLine},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n", errBadRequestLine},
	}
	for _, c := range bad {
		var r request
		if err := parseHead(c.head, &r); err != c.err {
			t.Errorf("%q: got %v, want %v", c.head, err, c.err)
		}
	}
}

// netHTTPRead parses a request head as Go's net/http server does:
// http.ReadRequest, then the checks its server adds (protocol version,
// Host). ReadRequest moves Host out of the header map, so the Host lines
// are counted from the head.
func netHTTPRead(head string) (*http.Request, error) {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
	if err != nil {
		return nil, err
	}
	tp := textproto.NewReader(bufio.NewReader(strings.NewReader(head)))
	tp.ReadLine()
	fields, _ := tp.ReadMIMEHeader()
	hosts := fields["Host"]
	for k, vv := range fields {
		// What net/http's server checks beyond ReadRequest (httpguts).
		if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r > 0x7e || !strings.ContainsRune(tchars, r) }) {
			return nil, errors.New("invalid header name")
		}
		for _, v := range vv {
			if strings.ContainsFunc(v, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
				return nil, errors.New("invalid header value")
			}
		}
	}
	h2Preface := req.Method == "PRI" && req.RequestURI == "*" && req.Proto == "HTTP/2.0"
	if req.ProtoMajor != 1 && !h2Preface {
		return nil, errors.New("unsupported protocol version")
	}
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 && !(h2Preface && len(fields) == 0) && req.Method != "CONNECT" {
		return nil, errors.New("missing required Host header")
	}
	if len(hosts) == 1 && strings.ContainsFunc(hosts[0], func(r rune) bool {
		return r > 0x7e || r <= ' ' || strings.ContainsRune(`"#/<>?@\^`+"`{|}", r)
	}) {
		return nil, errors.New("malformed Host header")
	}
	return req, nil
}

// tchars are RFC 9110's token characters, spelt out apart from the
// transport's own table.
const tchars = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Refusals of the transport beyond parseHead (checkMethod), with the
// default options.
var (
	errConnectRefused = &httpError{http.StatusNotImplemented, "CONNECT"}
	errPRIRefused     = &httpError{http.StatusHTTPVersionNotSupported, "PRI"}
	errMajorRefused   = &httpError{http.StatusHTTPVersionNotSupported, "version"}
)

// transportRead parses a head as the transport does with the default
// options: parseHead, then checkMethod.
func transportRead(head string, r *request) *httpError {
	if err := parseHead(head, r); err != nil {
		return err
	}
	t := &httpTransport{methods: map[string]bool{}}
	switch status, _ := t.checkMethod(r); {
	case status == 0:
		return nil
	case r.method == http.MethodConnect:
		return errConnectRefused
	case r.method == "PRI":
		return errPRIRefused
	}
	return errMajorRefused
}

// stricter are the refusals of requests that net/http serves, each for a
// reason RATIONALE.md gives ("What the transport refuses").
var stricter = map[*httpError]string{
	errObsFold:         "obs-fold: RFC 9112 §5.2 lets a server reject it; net/http joins the lines",
	errLengthAndTE:     "Transfer-Encoding with Content-Length: RFC 9112 §6.1 allows a 400; net/http serves it",
	errHTTP10TE:        "Transfer-Encoding on HTTP/1.0: faulty framing (RFC 9112 §6.1); net/http ignores the field",
	errManyHosts:       "two Host lines: RFC 9112 §3.2 requires a 400; net/http takes the first",
	errUserinfo:        "userinfo in an http(s) target: RFC 9110 §4.2.4; net/http drops it",
	errNoTargetHost:    "an http(s) target with an empty host: RFC 9110 §4.2.1; net/http uses the Host field",
	errBadTargetHost:   "an http(s) target whose host holds bytes a Host field may not",
	errUnsupportedForm: "a target with another scheme than http or https",
	errBadLength:       "an empty Content-Length, or one of more than 18 digits",
	errBadTarget:       "a CONNECT authority with more than host and port",
	errBadRequestLine:  "more than one space between the request line's parts",
	errConnectRefused:  "CONNECT, unless a route names it (Options.Methods)",
	errPRIRefused:      "the HTTP/2 preface, unless a route names PRI (Options.Methods)",
}

// compareWithNetHTTP checks a head both parsers accepted: the same
// method, target, version, host, path, query, framing and fields.
func compareWithNetHTTP(t *testing.T, head string, r *request, n *http.Request) {
	t.Helper()
	fail := func(what string, ours, theirs any) {
		t.Helper()
		t.Errorf("%q: %s: ours %q, net/http %q", head, what, ours, theirs)
	}
	if r.method != n.Method {
		fail("method", r.method, n.Method)
	}
	if r.target != n.RequestURI {
		fail("target", r.target, n.RequestURI)
	}
	if r.proto != n.Proto || r.major != n.ProtoMajor || r.minor != n.ProtoMinor {
		fail("version", r.proto, n.Proto)
	}
	if r.host != n.Host {
		fail("host", r.host, n.Host)
	}
	path := n.URL.Path
	if path == "" && strings.HasPrefix(strings.ToLower(r.target), "http") {
		path = "/" // an absolute target's empty path is "/" (documented)
	}
	if r.path != path {
		fail("path", r.path, path)
	}
	if r.query != n.URL.RawQuery {
		fail("query", r.query, n.URL.RawQuery)
	}
	switch {
	case r.chunked:
		if n.ContentLength != -1 || !slices.Equal(n.TransferEncoding, []string{"chunked"}) {
			fail("framing", "chunked", n.TransferEncoding)
		}
	case r.major != 1:
		// PRI * HTTP/2.0: net/http's body runs to the end of the
		// connection; the transport's is empty, and it closes after.
	case r.length >= 0:
		if n.ContentLength != r.length {
			fail("length", r.length, n.ContentLength)
		}
	case n.ContentLength != 0:
		fail("length", "none", n.ContentLength)
	}
	if r.close != n.Close {
		fail("close", r.close, n.Close)
	}
	ours := http.Header{}
	for _, f := range r.fields {
		ours.Add(f.name, f.value)
	}
	for _, k := range []string{"Host", "Transfer-Encoding", "Content-Length", "Trailer"} {
		// net/http moves these out of the header map (framing, Host).
		delete(ours, k)
		delete(n.Header, k)
	}
	if _, ok := ours["Cache-Control"]; !ok && ours.Get("Pragma") == "no-cache" {
		delete(n.Header, "Cache-Control") // net/http adds it for HTTP/1.0 caches; we do not invent fields
	}
	for k, v := range n.Header {
		if !slices.Equal(ours[textproto.CanonicalMIMEHeaderKey(k)], v) {
			fail("field "+k, ours[k], v)
		}
	}
	if len(ours) != len(n.Header) {
		fail("field count", len(ours), len(n.Header))
	}
}

// diffCorpus are request heads for the comparison with net/http: valid
// ones in many spellings and invalid ones of every kind parseHead refuses.
var diffCorpus = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /index.html?a=1&b=%20 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
	"get / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a%2Fb/%2e%2e/c HTTP/1.1\r\nhost: x\r\n\r\n",
	"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a?b?c=d;e HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\nHost: x\n\n",
	"GET / HTTP/1.1\r\nHost: x\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Dup: 1\r\nx-dup: 2\r\nX-DUP: 3\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Spaces:   v  w  \r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Obs: caf\xe9\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX_Under: 1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\n\r\n",
	"GET / HTTP/1.1\r\nHost:\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 007\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\n",
	"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nBad(Name): v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n",
	"GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET HTTPS://EXAMPLE.com:8443/%41 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://user:pw@example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://[::1/ HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http:/// HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET example.com HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
	"CONNECT /path HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT example.com:443/x HTTP/1.1\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\n",
	"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
	"GET / HTTP/0.9\r\n\r\n",
	"GET / HTTP/1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1.1\r\nHost: x\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /  HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET\t/\tHTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%2 HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n",
	"G@T / HTTP/1.1\r\nHost: x\r\n\r\n",
	" GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"HELLO\r\n\r\n",
}

// TestParseHeadAgainstNetHTTP runs the corpus through both parsers: where
// net/http serves a request, the transport reads the same fields or
// refuses it for a reason listed in stricter.
func TestParseHeadAgainstNetHTTP(t *testing.T) {
	for _, head := range diffCorpus {
		var r request
		ours := transportRead(head, &r)
		theirs, nerr := netHTTPRead(head)
		switch {
		case ours == nil && nerr == nil:
			compareWithNetHTTP(t, head, &r, theirs)
		case ours != nil && nerr == nil:
			if reason, ok := stricter[ours]; ok {
				t.Logf("stricter: %q: %v (%s)", head, ours, reason)
			} else {
				t.Errorf("%q: refused (%v), net/http serves it", head, ours)
			}
		case ours == nil && nerr != nil:
			t.Logf("laxer: %q: net/http refuses it (%v)", head, nerr)
			if !laxerThanNetHTTP(head, &r) {
				t.Errorf("%q: accepted, net/http refuses it: %v", head, nerr)
			}
		}
	}
}

// laxerThanNetHTTP reports the heads the transport serves and net/http
// refuses, for a reason RATIONALE.md gives: trailers are read and dropped,
// so a Trailer field naming framing fields is harmless; an empty Host of
// an absolute target is refused by url; the rest is the documented list.
func laxerThanNetHTTP(head string, r *request) bool {
	switch {
	case r.chunked && strings.Contains(strings.ToLower(head), "\ntrailer:"):
		// net/http refuses a Trailer field naming Content-Length,
		// Transfer-Encoding or Trailer; the transport discards trailers.
		return true
	}
	return false
}

// FuzzParseHead: for every input, parseHead either refuses it with one of
// its declared errors, or returns a request that round-trips (written out
// again and parsed, it is the same) and keeps the invariants the
// transport relies on; where net/http serves the head, the transport reads
// the same fields or refuses it for a reason in stricter.
func FuzzParseHead(f *testing.F) {
	for _, h := range diffCorpus {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, head string) {
		var r request
		err := transportRead(head, &r)
		theirs, nerr := netHTTPRead(head)
		if err != nil {
			if !slices.Contains(headErrors, err) && err != errConnectRefused && err != errPRIRefused && err != errMajorRefused {
				t.Fatalf("%q: undeclared error %v", head, err)
			}
			if nerr == nil {
				if _, ok := stricter[err]; !ok {
					t.Fatalf("%q: refused (%v), net/http serves it", head, err)
				}
			}
			return
		}
		checkInvariants(t, head, &r)
		var again request
		if err := parseHead(serializeHead(&r), &again); err != nil {
			t.Fatalf("%q: written out again, refused: %v", head, err)
		}
		if !sameRequest(&r, &again) {
			t.Fatalf("%q: does not round-trip:\n%+v\n%+v", head, r, again)
		}
		if nerr == nil {
			compareWithNetHTTP(t, head, &r, theirs)
		} else if !laxerThanNetHTTP(head, &r) {
			t.Fatalf("%q: accepted, net/http refuses it: %v", head, nerr)
		}
	})
}

// checkInvariants are what the transport's framing and env rely on.
func checkInvariants(t *testing.T, head string, r *request) {
	t.Helper()
	switch {
	case r.chunked && r.length >= 0:
		t.Fatalf("%q: both chunked and a length", head)
	case r.length < -1:
		t.Fatalf("%q: length %d", head, r.length)
	case !isToken(r.method):
		t.Fatalf("%q: method %q", head, r.method)
	case !validHost(r.host):
		t.Fatalf("%q: host %q", head, r.host)
	case r.major == 1 && r.minor >= 1 && r.method != http.MethodConnect && r.hosts != 1:
		t.Fatalf("%q: HTTP/1.1 with %d Host fields", head, r.hosts)
	case r.chunked && r.http10():
		t.Fatalf("%q: chunked HTTP/1.0", head)
	}
	if strings.ContainsAny(r.target, " \r\n") {
		t.Fatalf("%q: target %q", head, r.target)
	}
	for _, fl := range r.fields {
		if !isToken(fl.name) || !validFieldValue(fl.value) || strings.ContainsAny(fl.value, "\r\n") || fl.value != trimOWS(fl.value) {
			t.Fatalf("%q: field %q: %q", head, fl.name, fl.value)
		}
	}
}

// serializeHead writes a parsed head out in its canonical form.
func serializeHead(r *request) string {
	var b strings.Builder
	b.WriteString(r.method + " " + r.target + " " + r.proto + "\r\n")
	for _, f := range r.fields {
		b.WriteString(f.name + ": " + f.value + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func sameRequest(a, b *request) bool {
	return a.method == b.method && a.target == b.target && a.proto == b.proto && a.major == b.major &&
		a.minor == b.minor && slices.Equal(a.fields, b.fields) && a.host == b.host && a.hosts == b.hosts &&
		a.length == b.length && a.chunked == b.chunked && a.close == b.close && a.http10KA == b.http10KA &&
		a.expect == b.expect && a.expectNo == b.expectNo && a.path == b.path && a.query == b.query
}

func BenchmarkParseHead(b *testing.B) {
	heads := map[string]string{
		"wrk": "GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n",
		"browser": "GET /chat/pull?since=12 HTTP/1.1\r\nHost: localhost:8080\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
			"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n" +
			"Cookie: sid=abcdef0123456789; theme=dark\r\nUpgrade-Insecure-Requests: 1\r\n" +
			"Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\n\r\n",
	}
	for name, h := range heads {
		b.Run(name, func(b *testing.B) {
			var r request
			b.ReportAllocs()
			for range b.N {
				if err := parseHead(h, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
