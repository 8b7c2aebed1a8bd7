// Package ratelog bounds what untrusted code can put in the server log.
//
// A [Limiter] is a token bucket of log records with a size cap per record.
// One is made per source that a guest controls (a route), and every path by
// which the source's records reach the log goes through it: the records a
// module logs (the ABI's log import), the lines of its stdout and stderr,
// and the lines the host logs on its behalf (an extension call it was not
// granted, an unknown JSON-RPC method in a batch). Wrap the route's logger
// once and hand the wrapped one to each of those:
//
//	lim := ratelog.New(ratelog.Options{Rate: 100, Burst: 1000, Parent: processWide})
//	defer lim.Close()
//	logger := lim.Logger(base) // or slog.New(lim.Handler(base.Handler()))
//
// Records over the budget are dropped and counted. The count is reported as
// one WARN record, "log records dropped: over the rate limit", with
// attribute dropped=N, Options.ReportEvery after the first drop it counts
// (and at Close): however long a flood lasts it costs the budget plus one
// line per ReportEvery, and it is never silent. A Limiter may have a parent (Options.Parent), a budget
// shared by all routes, so that the process's log volume is bounded too;
// a record must fit both.
//
// Every record let through is cut to Options.MaxBytes: its message and
// each string or error attribute longer than that keep their first bytes
// and a mark with the original length (abi.CutLog).
//
// Records below the wrapped handler's level are not counted: slog asks
// Enabled first, which the Limiter passes through.
package ratelog
