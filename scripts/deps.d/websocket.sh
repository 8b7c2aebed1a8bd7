# shellcheck shell=bash
# The WebSocket tests' client: Node.js and npm, then the ws package pinned
# in server/websocket/nodetest/package-lock.json, installed into its
# node_modules by its install.sh (a no-op when that lock is installed
# already). Sourced by scripts/deps.sh.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
after+=("bash server/websocket/nodetest/install.sh")
