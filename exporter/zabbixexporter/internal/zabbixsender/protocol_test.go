package zabbixsender

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeHeader(t *testing.T) {
	packet, err := Encode([]Value{{Host: "h", Key: "k", Value: "v", Clock: 1, NS: 2}}, false, 10, 20)
	require.NoError(t, err)
	assert.Equal(t, "ZBXD", string(packet[:4]))
	assert.Equal(t, byte(0x01), packet[4])
	body := packet[headerSize:]
	assert.Equal(t, uint32(len(body)), binary.LittleEndian.Uint32(packet[5:9]))
	assert.Zero(t, binary.LittleEndian.Uint32(packet[9:13]))
	assert.JSONEq(t, `{"request":"sender data","data":[{"host":"h","key":"k","value":"v","clock":1,"ns":2}],"clock":10,"ns":20}`, string(body))
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Response
		wantErr error
	}{
		{
			name: "success",
			in:   rawReply(`{"response":"success","info":"processed: 3; failed: 1; total: 4; seconds spent: 0.000123"}`, false),
			want: Response{Processed: 3, Failed: 1, Total: 4, SecondsSpent: 0.000123, Info: "processed: 3; failed: 1; total: 4; seconds spent: 0.000123"},
		},
		{
			name: "compressed",
			in:   rawReply(`{"response":"success","info":"processed: 2; failed: 0; total: 2; seconds spent: 0.1"}`, true),
			want: Response{Processed: 2, Total: 2, SecondsSpent: 0.1, Info: "processed: 2; failed: 0; total: 2; seconds spent: 0.1"},
		},
		{name: "refused", in: rawReply(`{"response":"failed","info":"x"}`, false), want: Response{Info: "x"}, wantErr: ErrRefused},
		{name: "not json", in: rawReply(`hello`, false), wantErr: ErrProtocol},
		{name: "no response field", in: rawReply(`{"info":"processed: 1"}`, false), wantErr: ErrProtocol},
		{name: "info without counts", in: rawReply(`{"response":"success","info":"ok"}`, false), want: Response{Info: "ok"}, wantErr: ErrProtocol},
		{name: "bad count", in: rawReply(`{"response":"success","info":"processed: x"}`, false), want: Response{Info: "processed: x"}, wantErr: ErrProtocol},
		{name: "bad magic", in: []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), wantErr: ErrProtocol},
		{name: "too large", in: append([]byte("ZBXD\x01"), 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0), wantErr: ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadResponse(bytes.NewReader(tt.in))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadResponseTruncated(t *testing.T) {
	full := successReply(1, 0)
	for _, n := range []int{0, 3, 5, 12, len(full) - 1} {
		_, err := ReadResponse(bytes.NewReader(full[:n]))
		require.Error(t, err, "prefix of %d bytes", n)
	}
}

// FuzzReadResponse: any reply bytes give a response or an error, never a
// panic or an allocation beyond MaxResponseSize. Seeds are in
// testdata/fuzz/FuzzReadResponse.
func FuzzReadResponse(f *testing.F) {
	f.Add(successReply(3, 1))
	f.Add(rawReply(`{"response":"success","info":"processed: 2; failed: 0; total: 2; seconds spent: 0.1"}`, true))
	f.Add(rawReply(`{"response":"failed","info":"x"}`, false))
	f.Add([]byte("ZBXD\x05"))
	f.Fuzz(func(t *testing.T, in []byte) {
		resp, err := ReadResponse(bytes.NewReader(in))
		if err == nil && (resp.Processed < 0 || resp.Failed < 0 || resp.Total < 0) {
			t.Fatalf("negative counts accepted: %+v", resp)
		}
	})
}

// FuzzParseInfo: the info line never panics and never yields negative counts.
func FuzzParseInfo(f *testing.F) {
	f.Add("processed: 1; failed: 0; total: 1; seconds spent: 0.000055")
	f.Add("processed: ; failed")
	f.Fuzz(func(t *testing.T, info string) {
		resp, err := ParseInfo(info)
		if err == nil && (resp.Processed < 0 || resp.Failed < 0 || resp.Total < 0) {
			t.Fatalf("negative counts accepted: %+v", resp)
		}
	})
}

func TestSeedCorpusPresent(t *testing.T) {
	for _, dir := range []string{"FuzzReadResponse", "FuzzParseInfo"} {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", dir))
		require.NoError(t, err)
		assert.NotEmpty(t, entries, dir)
	}
}
