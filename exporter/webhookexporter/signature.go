package webhookexporter // import "github.com/wafermonitor/wafermonitor/exporter/webhookexporter"

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// sign returns the signature header value: "sha256=" and the lower-case hex
// HMAC-SHA256, keyed with the secret, of the timestamp header's value, a
// dot, and the request body exactly as sent (before any transport
// compression).
func sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
