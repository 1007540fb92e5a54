#!/usr/bin/env bash
# The test suite runs real Python and Go clients, a real Prometheus and a real etcd cluster. This installs the
# Debian packages they need when some are missing (as root, with apt), so `npm test` works
# on a fresh machine; it does nothing when everything is there.
set -euo pipefail
need=()
/usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || need+=(python3-grpcio python3-protobuf)
# The Python package tests install it with pip into a venv and build its wheel.
{ /usr/bin/python3 -c 'import ensurepip, setuptools, wheel' && /usr/bin/python3 -m pip --version; } >/dev/null 2>&1 || need+=(python3-venv python3-pip python3-setuptools python3-wheel)
command -v go >/dev/null || need+=(golang-go)
gocode=/usr/share/gocode/src
[ -d "$gocode/google.golang.org/grpc" ] || need+=(golang-google-grpc-dev)
[ -d "$gocode/google.golang.org/protobuf" ] || need+=(golang-google-protobuf-dev)
[ -d "$gocode/github.com/golang/protobuf" ] || need+=(golang-github-golang-protobuf-1-5-dev)
[ -d "$gocode/github.com/spaolacci/murmur3" ] || need+=(golang-github-spaolacci-murmur3-dev)
[ -x /usr/bin/prometheus ] || need+=(prometheus)
# The etcd store's tests run a real 3-member cluster.
[ -x /usr/bin/etcd ] || need+=(etcd-server)
# The console's and the OFREP web provider's tests drive a real Chromium.
[ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)
# The README's HTTP examples use it.
command -v curl >/dev/null || need+=(curl)
command -v mount >/dev/null || need+=(mount)
# The TLS tests make their certificates with it.
command -v openssl >/dev/null || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "the tests need these Debian packages: ${need[*]}" >&2
  echo "install them as root: apt-get update && apt-get install -y --no-install-recommends ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages the tests need: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Through apt-install.sh: no service of these packages is left enabled or running.
bash "$(dirname "$0")/apt-install.sh" --no-install-recommends "${need[@]}"
