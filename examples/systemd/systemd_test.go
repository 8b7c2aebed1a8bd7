package systemd_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// unitKey returns the value of key in a systemd unit file ("" if absent).
func unitKey(t *testing.T, file, key string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), "="); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestExample serves bubble.toml as written (the module built from the
// current source) on the socket bubblewasm.socket describes, handed over
// as systemd hands it: under the socket's FileDescriptorName=.
func TestExample(t *testing.T) {
	cfg, err := config.LoadWith("bubble.toml", app.ConfigOptions())
	if err != nil {
		t.Fatal(err)
	}
	name := unitKey(t, "bubblewasm.socket", "FileDescriptorName")
	if got := cfg.Listeners[0].Address; got != "systemd://"+name {
		t.Fatalf("bubble.toml's listener is %s, but bubblewasm.socket names its socket %q", got, name)
	}
	cfg.Routes[0].Module = testbuild.Module(t, "hello")
	l := testutil.Listen(t, "tcp://127.0.0.1:0") // ListenStream=, on a free port
	testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler), Inherited: map[string][]net.Listener{name: {l}}})
	resp, err := http.Get("http://" + l.Addr().String() + "/?name=Ada")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "Hello, Ada!\n" {
		t.Fatalf("got %d %q", resp.StatusCode, b)
	}
}

// TestUnitsVerify checks the unit files with systemd-analyze verify
// (Debian package systemd), ExecStart= pointed at a binary that exists
// here: no error and no warning (an unknown key is only a warning).
func TestUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd; make deps installs it)")
	}
	dir := t.TempDir()
	for _, unit := range []string{"bubblewasm.service", "bubblewasm.socket"} {
		b, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "/usr/local/bin/bubblewasm", "/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, unit), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(dir, "bubblewasm.service"), filepath.Join(dir, "bubblewasm.socket"))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
