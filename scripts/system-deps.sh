#!/usr/bin/env bash
# Debian packages clusterwatch needs beside its Python packages: CJK fonts for charts, maps and PDFs,
# headless Chromium for testing HTML, poppler for turning PDF pages into PNG, pango for PDF rendering.
# Idempotent: installs only what is missing.
set -euo pipefail
packages=(fonts-noto-cjk chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fontconfig)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
