// Package zabbixsender is a client of the Zabbix sender (trapper) protocol:
// the protocol zabbix_sender speaks to a Zabbix server's or proxy's trapper
// port (10051 by default).
//
// A request is a header ("ZBXD", a flags byte, the payload length and a
// reserved field, both 4-byte little-endian) followed by the JSON document
// {"request":"sender data","data":[{"host","key","value","clock","ns"}...]}.
// With flag 0x02 the payload is zlib-compressed and the reserved field holds
// its uncompressed length. The server answers with the same framing and
// {"response":"success","info":"processed: N; failed: M; total: T; seconds spent: S"},
// then closes the connection.
//
// The server does not say which values failed, and a value is "processed"
// even when the server drops it later (its item does not exist yet, a wrong
// value type, or the same item, clock and ns as a value already stored).
// Resending a value with the same clock and ns is therefore harmless, which
// makes retries of a whole batch safe.
package zabbixsender // import "github.com/wafermonitor/wafermonitor/exporter/zabbixexporter/internal/zabbixsender"
