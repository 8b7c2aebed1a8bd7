package app

import (
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// A tls:// listener made without TLS settings (the command line's
// --listen) is refused rather than served in the clear.
func TestTLSAddressNeedsCertificates(t *testing.T) {
	_, err := parseListener(config.Listener{Name: "listen1", Address: "tls://127.0.0.1:0", Transport: "http"})
	if err == nil || !strings.Contains(err.Error(), "needs tls_cert and tls_key") {
		t.Fatalf("parseListener: %v", err)
	}
	if err := CheckAddress("tls://127.0.0.1:0"); err != nil {
		t.Fatalf("CheckAddress (syntax only): %v", err)
	}
	if l, err := parseListener(config.Listener{Name: "l", Address: "tls://127.0.0.1:0", TLS: &config.TLS{}}); err != nil || !l.socket.TLS {
		t.Fatalf("with TLS settings: %+v, %v", l.socket, err)
	}
}
