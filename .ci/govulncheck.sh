#!/usr/bin/env bash
# Known-vulnerability check: govulncheck over the root module, the sdk module
# and the built binary, against a local copy of the Go vulnerability database.
#
# vuln.go.dev is not reachable from the build machines, but the Go module proxy
# serves the database's own module, golang.org/x/vulndb: its data/osv/*.json
# and its cmd/indexdb build a database that `govulncheck -db file://DIR` reads.
# The database is pinned (VULNDB_VERSION) so that the result changes only when
# the pin does; see docs/security.md ("Known vulnerabilities") to update it.
#
# Every vulnerability whose code is reached (source mode: a call path from our
# packages; binary mode: a vulnerable symbol linked into the binary) must have
# a line in .ci/govulncheck-explained.txt:
#   GO-YYYY-NNNN  <module>  <one-line explanation>
# Exits 1 on any reached vulnerability without one, 2 when a scan fails.
#
# Environment: VULNDB_VERSION (the pin below), GOVULNCHECK_EXPLAINED (the
# allowlist), GOVULNCHECK_BIN (the binary; skipped when absent).
# `govulncheck.sh --table` prints the allowlist as a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
explained=${GOVULNCHECK_EXPLAINED:-.ci/govulncheck-explained.txt}
binary=${GOVULNCHECK_BIN:-bin/otelcol-wafermonitor}

# --table: print the allowlist as the Markdown table of docs/security.md.
if [ "${1:-}" = --table ]; then
	echo '| ID | module | explanation |'
	echo '|---|---|---|'
	sed -nE 's/^(GO-[0-9]{4}-[0-9]+)[[:space:]]+([^[:space:]]+)[[:space:]]+(.*)$/| [\1](https:\/\/pkg.go.dev\/vuln\/\1) | `\2` | \3 |/p' "$explained"
	exit 0
fi

command -v govulncheck >/dev/null || { echo "govulncheck: not installed (.ci/setup.d/20-govulncheck.sh)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "govulncheck: python3 not installed (.ci/setup.d/40-python3.sh)" >&2; exit 2; }
[ -f "$explained" ] || { echo "govulncheck: $explained not found" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The checksum database is not reachable either (GOSUMDB=off); the proxy
# serves the module zip.
export GOSUMDB=off
vulndb_dir=$(GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
GOFLAGS=-mod=mod go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" \
	-out "$work/db" -vulns "$vulndb_dir/data/osv"
db="file://$work/db"

# govulncheck -format json exits 0 whether or not it finds something; any
# other status is a failed scan.
scan() { # name dir args...
	local name=$1 dir=$2; shift 2
	echo "govulncheck: scanning $name"
	if ! (cd "$dir" && govulncheck -db "$db" -format json "$@") >"$work/$name.json" 2>"$work/$name.err"; then
		cat "$work/$name.err" >&2
		echo "govulncheck: the scan of $name failed" >&2
		exit 2
	fi
}
scan root . ./...
scan sdk sdk ./...
scans=(root.json sdk.json)
if [ -f "$binary" ]; then
	scan binary . -mode=binary "$binary"
	scans+=(binary.json)
	# A release binary is built with -ldflags "-s -w": without its symbol
	# table govulncheck cannot tell which functions are linked, reports some
	# findings at symbol level for every vulnerability of a linked module
	# version and others at module level only. All of them count as reached.
	if ! go tool nm "$binary" 2>/dev/null | head -1 | grep -q .; then
		echo "govulncheck: $binary is stripped: every vulnerability of its module versions counts as reached"
		export GOVULNCHECK_BINARY_STRIPPED=1
	fi
else
	echo "govulncheck: $binary not found; the binary is not scanned (run make build first)"
fi

python3 - "$explained" "$VULNDB_VERSION" "${scans[@]/#/$work/}" <<'EOF'
import json, os, re, sys

explained_path, db_version, *scans = sys.argv[1:]
stripped = os.environ.get("GOVULNCHECK_BINARY_STRIPPED") == "1"

def documents(path):
    """govulncheck's JSON output: a stream of JSON objects."""
    text, dec, i = open(path).read(), json.JSONDecoder(), 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return
        obj, i = dec.raw_decode(text, i)
        yield obj

explained = {}
for n, line in enumerate(open(explained_path), 1):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    m = re.match(r"^(GO-\d{4}-\d+)\s+(\S+)\s+(\S.*)$", line)
    if not m:
        sys.exit(f"{explained_path}:{n}: want `GO-YYYY-NNNN  <module>  <explanation>`, got {line!r}")
    if m[1] in explained:
        sys.exit(f"{explained_path}:{n}: {m[1]} is listed twice")
    explained[m[1]] = (m[2], m[3])

# id -> {"summary", "fixed": {module: version}, "where": {scan: function}}
reached = {}
informational = set()
for path in scans:
    scan = path.rsplit("/", 1)[1].removesuffix(".json")
    summaries = {}
    for doc in documents(path):
        if "osv" in doc:
            summaries[doc["osv"]["id"]] = doc["osv"].get("summary", "")
        f = doc.get("finding")
        if not f:
            continue
        top = f["trace"][0]
        if not top.get("function") and not (scan == "binary" and stripped):
            # Only the module or package is used, not the vulnerable code.
            informational.add(f["osv"])
            continue
        r = reached.setdefault(f["osv"], {"summary": summaries.get(f["osv"], ""), "fixed": {}, "where": {}})
        r["fixed"].setdefault(top["module"], f.get("fixed_version") or "")
        # Source mode gives the call path (vulnerable symbol first); binary
        # mode, the vulnerable symbol.
        sym = top.get("package", top["module"])
        if top.get("function"):
            sym += "." + (top["receiver"] + "." if top.get("receiver") else "") + top["function"]
        entry = f["trace"][-1]
        via = f" via {entry.get('package')}.{entry.get('function')}" if len(f["trace"]) > 1 else ""
        # Keep the most precise finding: symbol over package over module.
        rank = 2 if top.get("function") else 1 if top.get("package") else 0
        if rank >= r["where"].get(scan, (-1, ""))[0]:
            r["where"][scan] = (rank, sym + via)

unexplained = []
for vid in sorted(reached):
    r = reached[vid]
    fixed = ", ".join(f"{m}@{v or '?'}" if v else m for m, v in sorted(r["fixed"].items()))
    print(f"{vid}  {r['summary']}")
    print(f"    fixed in: {fixed}")
    for scan, (_, where) in sorted(r["where"].items()):
        print(f"    {scan}: {where}")
    if vid in explained:
        print(f"    explained: {explained[vid][1]}")
    else:
        print("    NOT EXPLAINED: add a line to " + explained_path)
        unexplained.append(vid)

stale = sorted(set(explained) - set(reached))
for vid in stale:
    print(f"note: {vid} is explained in {explained_path} but no longer reached; remove its line")

print(f"govulncheck: {len(reached)} reached vulnerabilities in {', '.join(s.rsplit('/', 1)[1].removesuffix('.json') for s in scans)} "
      f"(database golang.org/x/vulndb@{db_version}): {len(reached) - len(unexplained)} explained, "
      f"{len(unexplained)} not explained; {len(informational - set(reached))} more in dependencies' code we do not call")
if unexplained:
    print("govulncheck: FAIL: not explained: " + " ".join(unexplained))
    sys.exit(1)
print("govulncheck: OK")
EOF
