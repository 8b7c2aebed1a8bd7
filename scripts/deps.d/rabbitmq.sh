# shellcheck shell=bash
# RabbitMQ for the AMQP transport's tests (server/amqp): Debian's
# rabbitmq-server (3.10 on bookworm, with Erlang). The tests never use the
# system service: internal/rabbittest starts a private node per test on
# loopback ports, so after installing, the service may stay stopped
# (`service rabbitmq-server stop`). Sourced by scripts/deps.sh: appends the
# Debian package to `need` when it is missing.
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null || need+=(rabbitmq-server)
