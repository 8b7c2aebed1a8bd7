package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLS on a tcp:// listener: the keys tls_cert and tls_key (one file each,
// or arrays of files paired by position: several certificates, chosen by
// the client's SNI), tls_min_version and tls_client_ca. The files are
// loaded when the configuration is, so a bad one fails the load; the app
// loads them again on every reload.

// TLS is the TLS setting of a tcp:// listener.
type TLS struct {
	// Certs are the certificate and key files, made absolute against the
	// config file's directory; at least one. The client's SNI chooses among
	// them; the first serves a client that names none that fits.
	Certs []CertFiles
	// MinVersion is tls.VersionTLS12 or tls.VersionTLS13.
	MinVersion uint16
	// ClientCA, when set, is a PEM file of the CAs that sign client
	// certificates: then every client must present one they verify.
	ClientCA string
}

// CertFiles is a certificate (PEM, the leaf first, then its chain) and the
// file of its private key (PEM).
type CertFiles struct {
	Cert, Key string
}

// DefaultTLSMinVersion is the oldest TLS version a listener accepts.
const DefaultTLSMinVersion = tls.VersionTLS12

var tlsVersions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

var tlsKeys = []string{"tls_cert", "tls_key", "tls_min_version", "tls_client_ca"}

// Config reads the files of t into a server-side tls.Config.
func (t *TLS) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: t.MinVersion}
	for _, f := range t.Certs {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("certificate %s, key %s: %w", f.Cert, f.Key, err)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	if t.ClientCA != "" {
		pool, err := loadCAs(t.ClientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// listenerTLS reads a listener's TLS keys: valid on tcp:// and tls://
// addresses only, tls_cert and tls_key together; a tls:// address must
// have them.
func (c *checker) listenerTLS(t table, l *Listener, scheme string) {
	var present []field
	for _, k := range tlsKeys {
		if f, ok := c.get(t, k); ok {
			present = append(present, f)
		}
	}
	if len(present) == 0 {
		if scheme == "tls" {
			f, _ := c.get(t, "address")
			c.errorf(f.path, f.line, "a tls:// listener needs tls_cert and tls_key (its certificate and private key files)")
		}
		return
	}
	if scheme != "" && scheme != "tcp" && scheme != "tls" {
		for _, f := range present {
			c.errorf(f.path, f.line, "only valid with a tcp:// or tls:// address")
		}
		return
	}
	s := &TLS{MinVersion: DefaultTLSMinVersion}
	ok := true
	certF, hasCert := c.get(t, "tls_cert")
	keyF, hasKey := c.get(t, "tls_key")
	switch {
	case !hasCert:
		c.missing(t, "tls_cert")
		ok = false
	case !hasKey:
		c.missing(t, "tls_key")
		ok = false
	default:
		certs, cok := c.paths(certF)
		keys, kok := c.paths(keyF)
		if ok = cok && kok; ok && len(certs) != len(keys) {
			c.errorf(keyF.path, keyF.line, "names %d keys for %d certificates in tls_cert", len(keys), len(certs))
			ok = false
		}
		for i := 0; ok && i < len(certs); i++ {
			if _, err := tls.LoadX509KeyPair(certs[i], keys[i]); err != nil {
				c.errorf(certF.path, certF.line, "certificate %s, key %s: %v", certs[i], keys[i], err)
				ok = false
			}
			s.Certs = append(s.Certs, CertFiles{Cert: certs[i], Key: keys[i]})
		}
	}
	if f, has := c.get(t, "tls_min_version"); has {
		if v, vok := c.oneOf(f, "tls_min_version", []string{"1.2", "1.3"}); vok {
			s.MinVersion = tlsVersions[v]
		} else {
			ok = false
		}
	}
	if f, has := c.get(t, "tls_client_ca"); has {
		if p, pok := c.path(f); !pok {
			ok = false
		} else if _, err := loadCAs(p); err != nil {
			c.errorf(f.path, f.line, "%v", err)
			ok = false
		} else {
			s.ClientCA = p
		}
	}
	if ok {
		l.TLS = s
	}
}

// paths reads a file path or a non-empty array of them.
func (c *checker) paths(f field) ([]string, bool) {
	var elems []any
	switch v := f.v.(type) {
	case string:
		elems = []any{v}
	case []any:
		elems = v
	default:
		c.errorf(f.path, f.line, "must be a string or an array of strings, not %s", typeName(f.v))
		return nil, false
	}
	if len(elems) == 0 {
		c.errorf(f.path, f.line, "must not be empty")
		return nil, false
	}
	var out []string
	for _, e := range elems {
		p, ok := c.path(field{path: f.path, line: f.line, v: e})
		if !ok {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}
