# shellcheck shell=bash
# HTTP/2 tests and measurements (server/transport, make bench-h2): nghttp,
# an HTTP/2 client, and h2load, an HTTP/2 load generator, from Debian's
# nghttp2-client. Sourced by scripts/deps.sh: appends the package to `need`
# when it is missing.
{ command -v nghttp >/dev/null && command -v h2load >/dev/null; } || need+=(nghttp2-client)
