package zabbixsender

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fixedNow = func() time.Time { return time.Unix(1760875200, 123) }

func values(n int) []Value {
	out := make([]Value, n)
	for i := range out {
		out[i] = Value{Host: "fab1-litho", Key: "wafer.job.finished", Value: "1", Clock: 1760875200, NS: i}
	}
	return out
}

func TestSendBatchesAndSums(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "zlib"}[compress], func(t *testing.T) {
			srv := newFakeServer(t, nil)
			c, err := New(Config{Endpoints: []string{srv.addr()}, MaxValuesPerRequest: 2, Compress: compress, Now: fixedNow})
			require.NoError(t, err)
			res, err := c.Send(context.Background(), values(5))
			require.NoError(t, err)
			assert.Equal(t, 3, res.Requests)
			assert.Equal(t, 5, res.Processed)
			assert.Equal(t, 5, res.Total)
			assert.Zero(t, res.Failed)
			reqs := srv.received()
			require.Len(t, reqs, 3)
			assert.Equal(t, "sender data", reqs[0].Request)
			assert.Equal(t, values(5)[:2], reqs[0].Data)
			assert.Equal(t, values(5)[4:], reqs[2].Data)
			assert.Equal(t, int64(1760875200), reqs[0].Clock)
			assert.Equal(t, 123, reqs[0].NS)
			wantFlags := byte(flagProtocol)
			if compress {
				wantFlags |= flagCompressed
			}
			assert.Equal(t, wantFlags, srv.flags[0])
		})
	}
}

func TestSendReportsRefusedRequests(t *testing.T) {
	srv := newFakeServer(t, nil)
	// The second request of three has a value that fails.
	srv.setReply(func(req senderRequest) []byte {
		if req.Data[0].Key == "c" {
			return successReply(len(req.Data)-1, 1)
		}
		return successReply(len(req.Data), 0)
	})
	c, err := New(Config{Endpoints: []string{srv.addr()}, MaxValuesPerRequest: 2})
	require.NoError(t, err)
	vals := []Value{{Host: "h", Key: "a"}, {Host: "h", Key: "b"}, {Host: "h", Key: "c"}, {Host: "h", Key: "d"}, {Host: "h", Key: "e"}}
	res, err := c.Send(context.Background(), vals)
	require.NoError(t, err)
	assert.Equal(t, 4, res.Processed)
	assert.Equal(t, 1, res.Failed)
	assert.Equal(t, 5, res.Answered)
	assert.Equal(t, []Refusal{{From: 2, To: 4, Failed: 1}}, res.Refused)
}

func TestSendFailsOver(t *testing.T) {
	// A port that refuses connections: listen, then close.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	require.NoError(t, dead.Close())

	srv := newFakeServer(t, nil)
	c, err := New(Config{Endpoints: []string{deadAddr, srv.addr()}, MaxValuesPerRequest: 10, ConnectTimeout: time.Second})
	require.NoError(t, err)
	res, err := c.Send(context.Background(), values(3))
	require.NoError(t, err)
	assert.Equal(t, 3, res.Processed)
	// The endpoint that answered is tried first from now on.
	c.mu.Lock()
	assert.Equal(t, 1, c.preferred)
	c.mu.Unlock()

	// A server that closes without replying (a port that is not a trapper,
	// or a request it does not understand) also fails over.
	silent := newFakeServer(t, nil)
	silent.setReply(func(senderRequest) []byte { return nil })
	c2, err := New(Config{Endpoints: []string{silent.addr(), srv.addr()}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	_, err = c2.Send(context.Background(), values(1))
	require.NoError(t, err)
	assert.Len(t, silent.received(), 1)
}

func TestSendUnavailable(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := dead.Addr().String()
	require.NoError(t, dead.Close())
	c, err := New(Config{Endpoints: []string{addr}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	_, err = c.Send(context.Background(), values(1))
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), addr)
}

func TestSendRefusedDoesNotFailOver(t *testing.T) {
	refusing := newFakeServer(t, nil)
	refusing.setReply(func(senderRequest) []byte {
		return rawReply(`{"response":"failed","info":"cannot parse"}`, false)
	})
	other := newFakeServer(t, nil)
	c, err := New(Config{Endpoints: []string{refusing.addr(), other.addr()}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	_, err = c.Send(context.Background(), values(1))
	require.ErrorIs(t, err, ErrRefused)
	assert.Empty(t, other.received())
}

func TestSendTimesOut(t *testing.T) {
	// A listener that accepts (the kernel's backlog) but never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := New(Config{Endpoints: []string{ln.Addr().String()}, MaxValuesPerRequest: 10})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = c.Send(ctx, values(1))
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestSendTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	srv := newFakeServer(t, ln)
	c, err := New(Config{Endpoints: []string{srv.addr()}, MaxValuesPerRequest: 10, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	res, err := c.Send(context.Background(), values(2))
	require.NoError(t, err)
	assert.Equal(t, 2, res.Processed)

	// An untrusted certificate is not an answer.
	c2, err := New(Config{Endpoints: []string{srv.addr()}, MaxValuesPerRequest: 10, TLS: &tls.Config{MinVersion: tls.VersionTLS12}})
	require.NoError(t, err)
	_, err = c2.Send(context.Background(), values(1))
	var unknownAuthority x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknownAuthority)
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{MaxValuesPerRequest: 1})
	require.Error(t, err)
	_, err = New(Config{Endpoints: []string{"x:1"}})
	require.Error(t, err)
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "zabbix-test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
