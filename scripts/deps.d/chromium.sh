# shellcheck shell=bash
# Headless Chromium for the chat example's browser test (examples/chat),
# driven over the DevTools protocol. Sourced by scripts/deps.sh: appends the
# Debian package to `need` when it is missing.
command -v chromium >/dev/null || need+=(chromium)
