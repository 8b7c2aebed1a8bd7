// Package accesslog writes one record per exchange and gives every exchange
// a request id.
//
// [New] wraps the handler that the sources serve into (the router): it sees
// each exchange a transport produces (an HTTP request, a line, a JSON
// message or JSON-RPC call, a raw connection, an AMQP delivery) from its
// start to its end, and logs, with one call when it ends: listener,
// transport, route, method and path (or what stands for them), status,
// bytes in and out, duration and request id.
//
// The request id is the client's X-Request-Id when [ValidID] accepts it,
// else a new one ([NewID]). It is put in env (bubble.request_id), in the
// exchange's context, and on an HTTP response as X-Request-Id. [Handler]
// wraps a slog.Handler so that every record logged with the exchange's
// context carries it: the records of host functions and of the guest
// (its log calls, each line of its stdout and stderr).
//
// Levels mean something: an exchange that its peer ended or got wrong (a
// 4xx, a client that went away, logged with status 499) is INFO; a 503 or
// 504 is WARN; any other 5xx is ERROR.
//
// [JSONDurations] makes durations numbers in JSON records: "duration_ms":
// 1.25 rather than "duration": 1250000. Text records print them as
// time.Duration does ("1.25ms").
package accesslog
