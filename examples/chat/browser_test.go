package chat_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// chromium finds the browser: $BUBBLEWASM_CHROMIUM, else chromium on PATH
// (Debian's, which `make deps` installs), else /usr/bin/chromium. A missing
// browser fails the test: it is a dependency, not an option.
func chromium(t *testing.T) string {
	if p := os.Getenv("BUBBLEWASM_CHROMIUM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatal("chromium not found: install it with `make deps` (scripts/deps.d/chromium.sh; on Debian: apt-get install chromium), or point BUBBLEWASM_CHROMIUM at a Chromium or Chrome binary")
	return ""
}

// TestChatInBrowser opens the page in two browser contexts of one headless
// Chromium (two cookie jars, so two participants), types a message followed
// by Enter into one and waits for it to appear in the other, then the other
// way round: the page's JavaScript, its long-poll loop and the push all run
// for real.
func TestChatInBrowser(t *testing.T) {
	base := startChat(t, config.EngineWazero)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browserCtx, closeBrowser := startBrowser(t, ctx)
	// Closing the browser first ends the pages' pending pulls, so the
	// server (stopped by a cleanup, after this) shuts down cleanly.
	defer closeBrowser()

	// Two browser contexts: separate cookies, so separate sessions.
	pages, me := openPages(t, browserCtx, base+"/")
	if me[0] == me[1] {
		t.Fatalf("both pages are participant %s: the browser contexts share a session", me[0])
	}

	// The page subscribed when it was served, so the message reaches the
	// other page whether or not its first pull is under way yet.
	for from, to := range []int{1, 0} {
		text := "hello from page " + strconv.Itoa(from)
		if err := chromedp.Do(pages[from], chromedp.SendKeys("#tosend", text+kb.Enter)); err != nil {
			t.Fatal(err)
		}
		line := me[from] + ": " + text
		waitShown(t, pages[to], to, line)
		// The sender is subscribed too and sees its own message; the
		// input is cleared for the next one.
		if _, err := chromedp.Run(pages[from], chromedp.Poll[bool](
			`document.getElementById('output').value.split('\n').indexOf(`+strconv.Quote(line)+`) >= 0 && document.getElementById('tosend').value === ''`,
			chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			out, _ := chromedp.Run(pages[from], chromedp.Value("#output"))
			t.Fatalf("page %d never showed its own %q: %v; it shows %q", from, line, err, out)
		}
	}
	out, err := chromedp.Run(pages[0], chromedp.Value("#output"))
	if err != nil {
		t.Fatal(err)
	}
	if want := me[0] + ": hello from page 0\n" + me[1] + ": hello from page 1\n"; out != want {
		t.Errorf("page 0 shows %q, want %q", out, want)
	}
	if strings.Contains(out, "*") {
		t.Errorf("page 0 shows a notice: %q", out)
	}
}

// startBrowser starts one headless Chromium and returns its context and
// what closes it.
func startBrowser(t *testing.T, ctx context.Context) (context.Context, func()) {
	t.Helper()
	path := chromium(t)
	var browserLog testutil.LogBuffer // the browser's stdout and stderr, for errors
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(&browserLog),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start %s: %v\n%s", path, err, browserLog.String())
	}
	return browserCtx, func() { cancelBrowser(); cancelAlloc() }
}

// waitShown waits until the page's output has line.
func waitShown(t *testing.T, page context.Context, i int, line string) {
	t.Helper()
	if _, err := chromedp.Run(page, chromedp.Poll[bool](
		`document.getElementById('output').value.split('\n').indexOf(`+strconv.Quote(line)+`) >= 0`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		out, _ := chromedp.Run(page, chromedp.Value("#output"))
		t.Fatalf("page %d never showed %q: %v; it shows %q", i, line, err, out)
	}
}

// TestChatWebSocketInBrowser opens public/ws.html in two browser pages:
// each opens a socket on /chat/ws, learns its participant id from the
// socket's first message, and shows what the host writes to the socket
// from its follow of "chat". A message typed in one page appears in both.
func TestChatWebSocketInBrowser(t *testing.T) {
	base := startChat(t, config.EngineWazero)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browserCtx, closeBrowser := startBrowser(t, ctx)
	defer closeBrowser()

	pages, me := openPages(t, browserCtx, base+"/ws.html")
	if me[0] == me[1] {
		t.Fatalf("both sockets are participant %s", me[0])
	}
	for from, to := range []int{1, 0} {
		text := "hello over a socket from page " + strconv.Itoa(from)
		if err := chromedp.Do(pages[from], chromedp.SendKeys("#tosend", text+kb.Enter)); err != nil {
			t.Fatal(err)
		}
		line := me[from] + ": " + text
		waitShown(t, pages[to], to, line)
		waitShown(t, pages[from], from, line)
	}
}

// openPages opens url in two browser contexts (two cookie jars) and returns
// the pages and the participant each shows (#me, once it has 6 characters:
// the WebSocket page learns it from its socket). The pages close when the
// test ends.
func openPages(t *testing.T, browserCtx context.Context, url string) ([]context.Context, []string) {
	t.Helper()
	pages := make([]context.Context, 2)
	me := make([]string, 2)
	for i := range pages {
		var cancelPage context.CancelFunc
		pages[i], cancelPage = chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
		t.Cleanup(cancelPage)
		if err := chromedp.Do(pages[i], chromedp.Navigate(url), chromedp.WaitVisible("#tosend")); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if _, err := chromedp.Run(pages[i], chromedp.Poll[bool](`document.getElementById('me').textContent.length === 6`,
			chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("page %d never showed its participant: %v", i, err)
		}
		var err error
		if me[i], err = chromedp.Run(pages[i], chromedp.Text("#me")); err != nil || len(me[i]) != 6 {
			t.Fatalf("page %d: participant %q, %v", i, me[i], err)
		}
	}
	return pages, me
}
