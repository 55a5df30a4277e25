#!/usr/bin/env bash
# Installs what LiveGate needs to build and to run its tests (Debian 12, as
# root). Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ca-certificates openssl
  libuv1-dev libmbedtls-dev libsrt-gnutls-dev libsqlite3-dev libfmt-dev catch2
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libmicrohttpd-dev
  python3 ffmpeg srt-tools clang-format git clang libclang-rt-14-dev llvm
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  iproute2 mount
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
