package zabbixtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSFiles are the files a client needs for a host that takes certificate
// connections only.
type TLSFiles struct {
	CA, Cert, Key string
}

// WithTLS is a prepare function for Start: it makes a CA, the server's
// certificate (127.0.0.1) and a client's, where start.sh finds them, so
// that the server takes TLS connections with certificates as well.
func WithTLS(t testing.TB, dir string) {
	t.Helper()
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o755); err != nil { //nolint:gosec // read by the server's account
		t.Fatal(err)
	}
	// RSA: Zabbix built with GnuTLS (Debian's) offers only RSA key exchange.
	caKey := rsaKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wafermonitor test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(tlsDir, "ca.pem"), "CERTIFICATE", caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) {
		key := rsaKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, filepath.Join(tlsDir, name+".pem"), "CERTIFICATE", der)
		writePEM(t, filepath.Join(tlsDir, name+"-key.pem"), "PRIVATE KEY", keyDER)
	}
	issue("server", 2, x509.ExtKeyUsageServerAuth)
	issue("client", 3, x509.ExtKeyUsageClientAuth)
}

// ClientTLS are the files WithTLS made for a client.
func (s *Server) ClientTLS() TLSFiles {
	dir := filepath.Join(s.dir, "tls")
	return TLSFiles{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"), Key: filepath.Join(dir, "client-key.pem")}
}

// ClientTLSConfig is the client's TLS configuration for the server.
func (s *Server) ClientTLSConfig() *tls.Config {
	s.t.Helper()
	files := s.ClientTLS()
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		s.t.Fatal(err)
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		s.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	// The server runs as root here, but keep the key readable for a
	// zabbix account too.
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil { //nolint:gosec // test key
		t.Fatal(err)
	}
}
