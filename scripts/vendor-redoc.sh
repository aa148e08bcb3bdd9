#!/usr/bin/env bash
# Refreshes vendor/redoc from the npm registry: `bash scripts/vendor-redoc.sh [version]`.
# Only ReDoc's standalone bundle is kept: installing the redoc package pulls ~85 MB of peers.
set -euo pipefail
version="${1:-2.5.4}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "redoc@$version" >/dev/null && tar xzf "redoc-$version.tgz")
dest="$root/vendor/redoc"
mkdir -p "$dest"
cp "$work/package/bundles/redoc.standalone.js" "$work/package/bundles/redoc.standalone.js.LICENSE.txt" "$dest/"
cp "$work/package/LICENSE" "$dest/LICENSE" 2>/dev/null || true
license="$(node -p "require('$work/package/package.json').license")"
sum="$(sha256sum "$dest/redoc.standalone.js" | cut -d' ' -f1)"
cat > "$dest/VERSION.md" <<TXT
# ReDoc standalone bundle

- package: redoc@$version (npm registry), file bundles/redoc.standalone.js
- licence: $license (third-party notices in redoc.standalone.js.LICENSE.txt)
- sha256: $sum
- refresh: \`bash scripts/vendor-redoc.sh [version]\`; test/integration/docs.test.ts checks this checksum
TXT
echo "vendored redoc@$version ($sum)"
