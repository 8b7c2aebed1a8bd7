package wasm_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// The CGI tests serve ordinary WASI programs, testdata/cgi/echo.c and
// testdata/cgi/echo.rs, built here with Debian's toolchains, over HTTP.

var cgiBuild struct {
	once sync.Once
	bins map[string][]byte
	err  error
}

// cgiPrograms builds testdata/cgi/echo.{c,rs} once per test binary.
func cgiPrograms(t testing.TB) map[string][]byte {
	t.Helper()
	cgiBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "bubblewasm-cgi-")
		if err != nil {
			cgiBuild.err = err
			return
		}
		defer os.RemoveAll(dir)
		cgiBuild.bins = map[string][]byte{}
		for _, b := range []struct{ lang, install string }{
			{"c", "clang lld wasi-libc libclang-rt-dev-wasm32"},
			{"rust", "rustc libstd-rust-dev-wasm32"},
		} {
			bin, err := buildCGI(b.lang, dir)
			if err != nil {
				cgiBuild.err = errors.Join(cgiBuild.err, errors.New(err.Error()+"\n(install the Debian packages "+b.install+"; `make deps` does it)"))
				continue
			}
			cgiBuild.bins[b.lang] = bin
		}
	})
	if cgiBuild.err != nil {
		t.Fatalf("building the CGI test programs: %v", cgiBuild.err)
	}
	return cgiBuild.bins
}

// buildCGI compiles testdata/cgi/echo.c with clang for wasm32-wasi, or
// testdata/cgi/echo.rs with Debian's rustc (/usr/bin/rustc: a rustup rustc
// earlier on PATH usually has no wasm targets).
func buildCGI(lang, dir string) ([]byte, error) {
	src, err := filepath.Abs(filepath.Join("testdata", "cgi", "echo."+map[string]string{"c": "c", "rust": "rs"}[lang]))
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, lang+".wasm")
	var cmd *exec.Cmd
	switch lang {
	case "c":
		args := []string{"--target=wasm32-wasi", "-O2", "-Wall", "-o", out, src}
		if root := os.Getenv("WASI_SYSROOT"); root != "" {
			args = append([]string{"--sysroot=" + root}, args...)
		}
		cmd = exec.Command("clang", args...)
	case "rust":
		cmd = exec.Command("/usr/bin/rustc", "--target", "wasm32-wasi", "-O", "-C", "strip=debuginfo", "-o", out, src)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, errors.New(strings.Join(cmd.Args, " ") + ": " + err.Error() + "\n" + string(msg))
	}
	return os.ReadFile(out)
}

// cgiClient does not follow redirects, so a 302 can be checked.
var cgiClient = &http.Client{
	Timeout:       60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func cgiDo(t *testing.T, method, url string, body io.Reader, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := cgiClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp, string(b)
}

// TestCGI serves the C and the Rust program, unmodified, on every engine.
func TestCGI(t *testing.T) {
	bins := cgiPrograms(t)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			for _, lang := range []string{"c", "rust"} {
				t.Run(lang, func(t *testing.T) {
					t.Parallel()
					testCGIProgram(t, engine, lang, bins[lang])
				})
			}
		})
	}
}

func testCGIProgram(t *testing.T, engine wasm.Engine, lang string, bin []byte) {
	logger, logs := testutil.CaptureLogger(t)
	// One handler with the default timeout, one with a short one for the
	// infinite loop; abi "auto" recognises the command module.
	h := mustHandler(t, engine, bin, wasm.Options{Name: "cgi-" + lang, Logger: logger, ABI: wasm.ABIAuto})
	short := mustHandler(t, engine, bin, wasm.Options{Name: "cgi-" + lang + "-short", Logger: logger, ABI: wasm.ABICGI, Timeout: time.Second})
	base := serveHTTP(t, logger, mount("/"+lang, h), mount("/short", short))
	url := base + "/" + lang

	t.Run("env and headers", func(t *testing.T) {
		resp, body := cgiDo(t, "POST", url+"?a=1&b=2", strings.NewReader("hello body"),
			http.Header{"X-Test": {"yes"}, "Content-Type": {"text/x-test"}})
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != "text/plain" || resp.Header.Get("X-Lang") != lang {
			t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
		}
		if got := resp.Header.Values("X-Multi"); len(got) != 2 || got[0] != "one" || got[1] != "two" {
			t.Errorf("X-Multi = %q, want [one two]", got)
		}
		want := "REQUEST_METHOD=POST\nQUERY_STRING=a=1&b=2\nPATH_INFO=/" + lang + "\nCONTENT_LENGTH=10\n" +
			"CONTENT_TYPE=text/x-test\nHTTP_X_TEST=yes\nGATEWAY_INTERFACE=CGI/1.1\nSERVER_SOFTWARE=bubblewasm\n" +
			"BUBBLE_ROUTE=" + lang + "\nBUBBLE_TRANSPORT=http\nDOTTED=0\nARGC=1\nARGV0=cgi-" + lang + "\n--\nhello body"
		if body != want {
			t.Errorf("body:\n%s\nwant:\n%s", body, want)
		}
		waitLog(t, logs, "cgi echo: POST request", "stream=stderr")
	})

	t.Run("GET without body", func(t *testing.T) {
		resp, body := cgiDo(t, "GET", url, nil, nil)
		if resp.StatusCode != 201 || !strings.Contains(body, "REQUEST_METHOD=GET\nQUERY_STRING=\n") ||
			!strings.Contains(body, "CONTENT_LENGTH=(unset)\n") || !strings.HasSuffix(body, "\n--\n") {
			t.Fatalf("got %d:\n%s", resp.StatusCode, body)
		}
	})

	t.Run("10 MB echoed byte-exact", func(t *testing.T) {
		const size = 10 << 20
		sent := sha256.New()
		req, _ := http.NewRequest("PUT", url, io.TeeReader(&pattern{left: size}, sent))
		req.ContentLength = -1 // chunked: the host cannot know the size up front
		resp, err := cgiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("no -- line before the body: %v", err)
			}
			if line == "--\n" {
				break
			}
		}
		got := sha256.New()
		n, err := io.Copy(got, r)
		if err != nil || n != size || string(got.Sum(nil)) != string(sent.Sum(nil)) {
			t.Fatalf("echoed %d bytes (err %v), want %d identical bytes", n, err, size)
		}
	})

	t.Run("body streams both ways", func(t *testing.T) {
		// Each chunk must come back before the next is sent: the host
		// neither waits for the whole request body nor holds back output.
		pr, pw := io.Pipe()
		defer pw.Close()
		req, _ := http.NewRequest("POST", url, pr)
		resp, err := cgiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		for line := ""; line != "--\n"; {
			if line, err = r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		for _, msg := range []string{"ping 1\n", "ping 2\n", "ping 3\n"} {
			if _, err := io.WriteString(pw, msg); err != nil {
				t.Fatal(err)
			}
			if line, err := r.ReadString('\n'); err != nil || line != msg {
				t.Fatalf("read %q, %v; want %q", line, err, msg)
			}
		}
		pw.Close()
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
			t.Fatalf("after the body: %q, %v", rest, err)
		}
	})

	t.Run("exit non-zero before writing is 500", func(t *testing.T) {
		resp, _ := cgiDo(t, "GET", url+"?exit", nil, nil)
		if resp.StatusCode != 500 {
			t.Fatalf("status %d, want 500", resp.StatusCode)
		}
		waitLog(t, logs, "exited with status 3")
	})

	t.Run("exit non-zero after writing cuts the response", func(t *testing.T) {
		resp, err := cgiClient.Get(url + "?cut")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || err == nil {
			t.Fatalf("got %d %q, err %v; want 200 and a cut body", resp.StatusCode, body, err)
		}
		waitLog(t, logs, "exited with status 4")
	})

	t.Run("no header block is 502", func(t *testing.T) {
		resp, body := cgiDo(t, "GET", url+"?noheader", nil, nil)
		if resp.StatusCode != 502 || body != "Bad Gateway\n" {
			t.Fatalf("got %d %q, want 502", resp.StatusCode, body)
		}
		waitLog(t, logs, "CGI module output is not a CGI response", `output line 1 is not a header line (\"Hello without headers\")`)
	})

	t.Run("no output is 502", func(t *testing.T) {
		resp, _ := cgiDo(t, "GET", url+"?nothing", nil, nil)
		if resp.StatusCode != 502 {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
		waitLog(t, logs, "exited without writing anything")
	})

	t.Run("infinite loop is 504", func(t *testing.T) {
		resp, _ := cgiDo(t, "GET", base+"/short?loop", nil, nil)
		if resp.StatusCode != 504 {
			t.Fatalf("status %d, want 504", resp.StatusCode)
		}
	})

	t.Run("body that never completes ends the exchange", func(t *testing.T) {
		// The program answers at once and then waits for the body: at the
		// route's timeout the response is cut and the connection closed, on
		// every engine.
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		io.WriteString(c, "POST /short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		_, err = io.ReadAll(resp.Body)
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("status %d, body read ended with %v; want the response cut by the route's timeout", resp.StatusCode, err)
		}
	})

	t.Run("still healthy", func(t *testing.T) {
		if resp, body := cgiDo(t, "GET", url, nil, nil); resp.StatusCode != 201 || !strings.HasSuffix(body, "--\n") {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})

	if lang != "c" {
		return
	}
	t.Run("Location without Status is 302", func(t *testing.T) {
		resp, _ := cgiDo(t, "GET", url+"?redirect", nil, nil)
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/elsewhere" {
			t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
		}
		// Framed the same way on every engine.
		if resp.ContentLength != 0 || len(resp.TransferEncoding) != 0 {
			t.Fatalf("Content-Length %d, Transfer-Encoding %v; want Content-Length: 0", resp.ContentLength, resp.TransferEncoding)
		}
	})
	t.Run("Status 404", func(t *testing.T) {
		resp, body := cgiDo(t, "GET", url+"?notfound", nil, nil)
		if resp.StatusCode != 404 || body != "no such thing\n" || resp.Header.Get("Status") != "" {
			t.Fatalf("got %d %v %q", resp.StatusCode, resp.Header, body)
		}
	})
	t.Run("header block over the limit is 502", func(t *testing.T) {
		resp, _ := cgiDo(t, "GET", url+"?bighead", nil, nil)
		if resp.StatusCode != 502 {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
		waitLog(t, logs, "header block exceeds 65536 bytes")
	})
}

// TestCGILoad checks what wasm.New accepts for each abi setting.
func TestCGILoad(t *testing.T) {
	command := `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "Content-Type: text/plain\n\nhi from wat\n")
  (data (i32.const 0) "\10\00\00\00\26\00\00\00")
  (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`
	importsV1 := `(module
  (import "bubblewasm_v1" "write" (func $w (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			cmd := testutil.WAT(t, command)
			hello := watModule(t, "hello")
			cases := []struct {
				name string
				bin  []byte
				opts wasm.Options
				want string // "" when it must load
			}{
				{"auto command", cmd, wasm.Options{ABI: wasm.ABIAuto}, ""},
				{"auto v1", hello, wasm.Options{ABI: wasm.ABIAuto}, ""},
				{"cgi command", cmd, wasm.Options{ABI: wasm.ABICGI}, ""},
				{"default is v1", cmd, wasm.Options{}, `serve it as a CGI program with abi = "cgi" or "auto"`},
				{"v1 command", cmd, wasm.Options{ABI: wasm.ABIV1}, `serve it as a CGI program`},
				{"cgi v1 module", hello, wasm.Options{ABI: wasm.ABICGI}, "does not export _start"},
				{"cgi pool", cmd, wasm.Options{ABI: wasm.ABICGI, Lifecycle: wasm.Pool}, `instances = "pool" cannot serve a CGI module`},
				{"auto pool", cmd, wasm.Options{ABI: wasm.ABIAuto, Lifecycle: wasm.Pool}, `instances = "pool" cannot serve a CGI module`},
				{"cgi importing bubblewasm_v1", testutil.WAT(t, importsV1), wasm.Options{ABI: wasm.ABIAuto}, "imports bubblewasm_v1.write: a CGI module talks through stdin and stdout only"},
				{"unknown abi", cmd, wasm.Options{ABI: "v2"}, `unknown abi "v2"`},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					h, err := wasm.New(context.Background(), engine, c.bin, c.opts)
					if err == nil {
						h.Close(context.Background())
					}
					switch {
					case c.want == "" && err != nil:
						t.Fatalf("refused: %v", err)
					case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
						t.Fatalf("error %v, want one containing %q", err, c.want)
					}
				})
			}

			// The WAT command answers over HTTP too (stack guard and table
			// cap rewrites applied, as for every module).
			h := mustHandler(t, engine, cmd, wasm.Options{Name: "wat", ABI: wasm.ABIAuto})
			base := serveHTTP(t, testutil.Logger(t), server.Route{Name: "wat", Handler: h})
			resp, body := cgiDo(t, "GET", base+"/", nil, nil)
			if resp.StatusCode != 200 || body != "hi from wat\n" || resp.Header.Get("Content-Type") != "text/plain" {
				t.Fatalf("got %d %v %q", resp.StatusCode, resp.Header, body)
			}
		})
	}
}

// pattern is a reader of left bytes of a repeating pattern, allocation-free.
type pattern struct{ left, off int }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(len(b), p.left)
	for i := range b[:n] {
		b[i] = byte((p.off + i) * 131 >> 3)
	}
	p.off += n
	p.left -= n
	return n, nil
}

// slurpCGI reads all of stdin before it answers, as many CGI programs do.
const slurpCGI = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\01\00\00\00\10\00\00")  ;; iovec: 4096 bytes at 256
  (data (i32.const 16) "\40\00\00\00\13\00\00\00") ;; iovec: the answer at 64
  (data (i32.const 64) "Status: 200 OK\n\nok\n")
  (func (export "_start")
    (block $eof
      (loop $more
        (br_if $eof (i32.ne (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0)))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (br $more)))
    (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`

// A CGI program waiting for a body that never completes gets the same
// answer on every engine: 504 at the route's timeout.
func TestCGIBodyNeverCompletes(t *testing.T) {
	for _, eng := range testutil.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			h := mustHandler(t, eng.New(t), testutil.WAT(t, slurpCGI), wasm.Options{Name: "slurp", Logger: logger, ABI: wasm.ABICGI, Timeout: 500 * time.Millisecond})
			base := serveHTTP(t, logger, mount("/slurp", h))
			if resp, body := cgiDo(t, "POST", base+"/slurp", strings.NewReader("complete"), nil); resp.StatusCode != 200 || body != "ok\n" {
				t.Fatalf("a complete body: %d %q", resp.StatusCode, body)
			}
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			io.WriteString(c, "POST /slurp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != 504 || !resp.Close {
				t.Fatalf("status %d close=%v, want 504 closing the connection", resp.StatusCode, resp.Close)
			}
		})
	}
}
