#!/usr/bin/env bash
# Runs the C SDK's native tests: bubble.c, bubble_ext.c and the kit's handler
# linked with the in-memory fake host (bubble_stub.c, bubble_stub_ext.c),
# compiled with the system's cc:
#
#   cc -std=c11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
#     -fno-sanitize-recover=all \
#     -I guest-sdk/c -o t guest-sdk/c/test/kit_test.c guest-sdk/c/test/ext_test.c \
#     guest-sdk/c/kit/kit.c guest-sdk/c/bubble.c guest-sdk/c/bubble_ext.c \
#     guest-sdk/c/bubble_stub.c guest-sdk/c/bubble_stub_ext.c && ./t
#
# Set NATIVE_CC to use another compiler; SANITIZE= (empty) to build without
# sanitizers.
set -euo pipefail
sdk=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cc=${NATIVE_CC:-cc}
command -v "$cc" >/dev/null || { echo "test.sh: $cc not found (Debian: apt-get install gcc)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
san=${SANITIZE-address,undefined}
flags=(-std=c11 -Wall -Wextra -Werror -g)
if [ -n "$san" ] && echo 'int main(void){return 0;}' | "$cc" -x c - -fsanitize="$san" -o "$tmp/probe" 2>/dev/null; then
	flags+=(-fsanitize="$san" -fno-sanitize-recover=all -fno-omit-frame-pointer)
fi
"$cc" "${flags[@]}" -I "$sdk" -o "$tmp/kit_test" \
	"$sdk/test/kit_test.c" "$sdk/test/ext_test.c" "$sdk/kit/kit.c" "$sdk/bubble.c" "$sdk/bubble_ext.c" \
	"$sdk/bubble_stub.c" "$sdk/bubble_stub_ext.c"
"$tmp/kit_test"
