# shellcheck shell=bash
# make bench and make profile (internal/bench): wrk, the load generator, and
# taskset (util-linux), which pins the server and wrk to a CPU each.
# Sourced by scripts/deps.sh: appends missing Debian packages to `need`.
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
