package faulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wafermonitor/wafermonitor/internal/testcollector"
)

// pki is a CA with a server certificate for 127.0.0.1 and a client certificate.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	pool                                                 *x509.CertPool
	client                                               tls.Certificate
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faulttest CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := &pki{pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string, tls.Certificate) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		certFile := writePEM(t, dir, name+".pem", "CERTIFICATE", der)
		keyFile := writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", keyDER)
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		return certFile, keyFile, pair
	}
	p.serverCert, p.serverKey, _ = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey, p.client = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func postWith(t *testing.T, c *http.Client, url string, header map[string]string) (int, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/event", strings.NewReader(validEvent(fmt.Sprintf("sec-%d", time.Now().UnixNano()))))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

const (
	secretToken    = "tok-7Hq2-secret-bearer"
	secretUser     = "fabuser"
	secretPassword = "pw-9Zx4-secret-basic"
)

// TestAuthenticationAndNoCredentialsInLogs: the v1 endpoint with the
// bearertokenauth and the basicauth extensions of the real collector, at
// debug log level; wrong and missing credentials get 401, right ones 200,
// the health path needs none, and no credential (sent or configured)
// appears in the collector's output.
func TestAuthenticationAndNoCredentialsInLogs(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	bearerPort, basicPort := testcollector.FreePort(t), testcollector.FreePort(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
extensions:
  bearertokenauth:
    token: ${env:FAULTTEST_TOKEN}
  basicauth:
    htpasswd:
      inline: |
        %[3]s:${env:FAULTTEST_PASSWORD}
receivers:
  wafermonitor/bearer:
    endpoint: 127.0.0.1:%[1]d
    auth:
      authenticator: bearertokenauth
  wafermonitor/basic:
    endpoint: 127.0.0.1:%[2]d
    auth:
      authenticator: basicauth
exporters:
  debug:
    verbosity: detailed
service:
  extensions: [bearertokenauth, basicauth]
  telemetry:
    logs:
      level: debug
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor/bearer, wafermonitor/basic]
      exporters: [debug]
`, bearerPort, basicPort, secretUser)
	bearer := "http://127.0.0.1:" + strconv.Itoa(bearerPort)
	basic := "http://127.0.0.1:" + strconv.Itoa(basicPort)
	col := testcollector.Start(t, cfg, testcollector.Options{Dir: dir, HealthURL: bearer + "/v1/health",
		Env: []string{"FAULTTEST_TOKEN=" + secretToken, "FAULTTEST_PASSWORD=" + secretPassword}})
	col.WaitHealthy(basic+"/v1/health", 30*time.Second)

	basicHeader := func(user, pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
	}
	for _, tt := range []struct {
		name   string
		url    string
		header map[string]string
		want   int
	}{
		{"bearer: none", bearer, nil, 401},
		{"bearer: wrong", bearer, map[string]string{"Authorization": "Bearer " + secretToken + "x"}, 401},
		{"bearer: basic instead", bearer, map[string]string{"Authorization": basicHeader(secretUser, secretPassword)}, 401},
		{"bearer: right", bearer, map[string]string{"Authorization": "Bearer " + secretToken}, 200},
		{"basic: none", basic, nil, 401},
		{"basic: wrong password", basic, map[string]string{"Authorization": basicHeader(secretUser, secretPassword+"x")}, 401},
		{"basic: bearer instead", basic, map[string]string{"Authorization": "Bearer " + secretToken}, 401},
		{"basic: right", basic, map[string]string{"Authorization": basicHeader(secretUser, secretPassword)}, 200},
	} {
		code, err := postWith(t, http.DefaultClient, tt.url, tt.header)
		if err != nil || code != tt.want {
			t.Errorf("%s: answer %d %v, want %d", tt.name, code, err, tt.want)
		}
	}
	for _, u := range []string{bearer, basic} {
		var h healthAnswer
		if code, err := getJSON(u+"/v1/health", &h); err != nil || code != 200 {
			t.Errorf("health without credentials: %d %v", code, err)
		}
	}
	// Wait for the debug exporter to have printed the accepted events.
	testcollector.WaitFor(t, 10*time.Second, "the debug exporter's output", func() bool { return strings.Count(col.Output(), "sec-") >= 2 })
	out := col.Output()
	for _, secret := range []string{secretToken, secretPassword, base64.StdEncoding.EncodeToString([]byte(secretUser + ":" + secretPassword))} {
		if strings.Contains(out, secret) {
			t.Errorf("the collector's output contains the credential %q", secret)
		}
	}
	if !strings.Contains(out, `"level":"debug"`) && !strings.Contains(out, "\tdebug\t") {
		t.Error("no debug line in the output: the log level was not debug")
	}
	fmt.Printf("FAULTTEST %s: 8 credential cases answered as expected; %d bytes of debug output, no credential in it\n", t.Name(), len(out))
}

// TestTLSAndMutualTLS: the v1 endpoint over TLS and over mutual TLS, and
// the webhook exporter presenting a client certificate to a backend that
// requires one, all with certificates made here.
func TestTLSAndMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("fault test")
	}
	dir := t.TempDir()
	p := newPKI(t, dir)

	// The webhook backend requires a client certificate from the collector.
	var mu sync.Mutex
	var peers []string
	backend := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		peers = append(peers, r.TLS.PeerCertificates[0].Subject.CommonName)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	})}
	backend.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = backend.ServeTLS(ln, p.serverCert, p.serverKey) }()
	t.Cleanup(func() { _ = backend.Close() })

	tlsPort, mtlsPort := testcollector.FreePort(t), testcollector.FreePort(t)
	cfg := fmt.Sprintf(`
receivers:
  wafermonitor/tls:
    endpoint: 127.0.0.1:%[1]d
    tls:
      cert_file: %[3]s
      key_file: %[4]s
  wafermonitor/mtls:
    endpoint: 127.0.0.1:%[2]d
    tls:
      cert_file: %[3]s
      key_file: %[4]s
      client_ca_file: %[5]s
exporters:
  webhook:
    endpoint: https://%[6]s/hook
    tls:
      ca_file: %[5]s
      cert_file: %[7]s
      key_file: %[8]s
    retry_on_failure:
      initial_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [wafermonitor/tls, wafermonitor/mtls]
      exporters: [webhook]
`, tlsPort, mtlsPort, p.serverCert, p.serverKey, p.caFile, ln.Addr(), p.clientCert, p.clientKey)
	testcollector.Start(t, cfg, testcollector.Options{Dir: dir})

	trusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.pool}}}
	withCert := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: p.pool, Certificates: []tls.Certificate{p.client}}}}
	tlsURL := "https://127.0.0.1:" + strconv.Itoa(tlsPort)
	mtlsURL := "https://127.0.0.1:" + strconv.Itoa(mtlsPort)
	testcollector.WaitFor(t, 30*time.Second, "the TLS endpoint", func() bool {
		code, err := postWith(t, trusting, tlsURL, nil)
		return err == nil && code == 200
	})
	if code, err := postWith(t, http.DefaultClient, tlsURL, nil); err == nil {
		t.Errorf("a client that does not trust the CA got %d", code)
	}
	if code, err := postWith(t, http.DefaultClient, "http://127.0.0.1:"+strconv.Itoa(tlsPort), nil); err == nil && code == 200 {
		t.Error("plain HTTP accepted on the TLS endpoint")
	}
	if code, err := postWith(t, trusting, mtlsURL, nil); err == nil {
		t.Errorf("a client without a certificate got %d from the mTLS endpoint", code)
	}
	if code, err := postWith(t, withCert, mtlsURL, nil); err != nil || code != 200 {
		t.Errorf("a client with a certificate: %d %v", code, err)
	}
	testcollector.WaitFor(t, 30*time.Second, "two events at the mTLS webhook backend", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(peers) >= 1
	})
	mu.Lock()
	defer mu.Unlock()
	for _, cn := range peers {
		if cn != "client" {
			t.Errorf("the webhook exporter presented %q", cn)
		}
	}
	fmt.Printf("FAULTTEST %s: TLS and mTLS receiver checks passed; webhook exporter delivered %d requests over mTLS\n", t.Name(), len(peers))
}
