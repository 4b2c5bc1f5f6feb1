#!/usr/bin/env bash
# Renders RP CRM's nginx configuration for one domain.
#
#   deploy/nginx/render.sh DOMAIN [DEST]
#
# Replaces @DOMAIN@ (and @DOMAIN_RE@, the same escaped for a regular
# expression) in sites-available/rpcrm*.conf and snippets/rpcrm-*.conf and
# writes them under DEST (default /etc/nginx) with the same relative paths.
# It enables nothing and reloads nothing; see docs/nginx.md for the steps.
set -euo pipefail

usage="usage: render.sh DOMAIN [DEST]   e.g. render.sh meinecrm.ch /etc/nginx"
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "$usage" >&2
  exit 2
fi
domain=$1
dest=${2:-/etc/nginx}

# Lower-case host name with at least two labels; nothing else reaches the
# configuration (no spaces, quotes, semicolons or regex characters).
label='[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?'
if ! [[ $domain =~ ^($label\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$ ]] || [ ${#domain} -gt 253 ]; then
  echo "render.sh: \"$domain\" is not a lower-case domain name such as meinecrm.ch" >&2
  exit 2
fi
domain_re=${domain//./\\\\.} # meinecrm\.ch, with the backslash doubled for sed

src=$(cd "$(dirname "$0")" && pwd)
cd "$src"
files=(sites-available/rpcrm*.conf snippets/rpcrm-*.conf)
mkdir -p "$dest/sites-available" "$dest/snippets"
for f in "${files[@]}"; do
  tmp="$dest/$f.tmp.$$"
  sed -e "s/@DOMAIN_RE@/$domain_re/g" -e "s/@DOMAIN@/$domain/g" "$f" >"$tmp"
  if grep -q '@DOMAIN' "$tmp"; then
    rm -f "$tmp"
    echo "render.sh: $f has a placeholder left after rendering" >&2
    exit 1
  fi
  mv -f "$tmp" "$dest/$f"
  echo "wrote $dest/$f"
done
