#!/usr/bin/env bash
# Regenerates the Python and Go client stubs from proto/ctm/v1 with buf and LOCAL plugins only
# (no BSR): buf.gen.python.yaml -> clients/python/ctm/v1, buf.gen.go.yaml -> clients/go/ctm/v1.
# The generated files are committed; CI runs this and fails if they differ.
#
# Needs (Debian): protobuf-compiler protobuf-compiler-grpc protoc-gen-go protoc-gen-go-grpc,
# and buf from node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."

BUF="${BUF:-node_modules/.bin/buf}"
missing=0
for tool in "$BUF" /usr/bin/protoc /usr/bin/grpc_python_plugin /usr/bin/protoc-gen-go /usr/bin/protoc-gen-go-grpc; do
  if [ ! -x "$tool" ]; then
    echo "gen-clients: $tool not found" >&2
    missing=1
  fi
done
if [ "$missing" = 1 ]; then
  echo "gen-clients: run 'npm ci' and 'apt-get install protobuf-compiler protobuf-compiler-grpc protoc-gen-go protoc-gen-go-grpc'" >&2
  exit 1
fi

# Remove what was generated before, so stubs of deleted .proto files go too; hand-written
# files (clients/python/ctm/v1/__init__.py) stay.
rm -f clients/python/ctm/v1/*_pb2.py clients/python/ctm/v1/*_pb2.pyi clients/python/ctm/v1/*_pb2_grpc.py
rm -f clients/go/ctm/v1/*.pb.go

"$BUF" generate --template buf.gen.python.yaml
"$BUF" generate --template buf.gen.go.yaml

# The generated modules import each other as `from ctm.v1 import ..._pb2`: with
# clients/python on sys.path that is this package, ctm.v1.
[ -f clients/python/ctm/v1/__init__.py ] || echo "# Generated stubs for ctm.v1 (scripts/gen-clients.sh); this file is kept by the generator." > clients/python/ctm/v1/__init__.py
