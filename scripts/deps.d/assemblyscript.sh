# shellcheck shell=bash
# AssemblyScript for guest-sdk/assemblyscript: Node.js and npm, then the
# compiler pinned in guest-sdk/assemblyscript/package-lock.json, installed
# into guest-sdk/assemblyscript/node_modules by its install.sh (a no-op when
# that lock is installed already). Sourced by scripts/deps.sh.
# AssemblyScript 0.28 wants Node.js 20 or later.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
after+=("bash guest-sdk/assemblyscript/install.sh")
