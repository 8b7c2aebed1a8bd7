package spec

// Size limits of arguments. The host checks them before it copies anything
// out of guest memory.
const (
	// MaxLogBytes is the longest log record a guest makes, through the log
	// import or one line of stdout or stderr: the host cuts a longer one.
	MaxLogBytes = 8 << 10
	// MaxSubscriptionID is the longest subscription id subscribe writes, so
	// the shortest id buffer it accepts; a longer id passed to fetch or
	// unsubscribe is ERR_NOT_FOUND.
	MaxSubscriptionID = 64
	// MaxNameBytes is the longest channel name, signal name or key-value
	// namespace (ERR_INVALID beyond); see CheckName.
	MaxNameBytes = 256
	// MaxKeyBytes is the longest key-value key: set answers ERR_TOO_LARGE
	// beyond it, get ERR_NOT_FOUND and delete 0.
	MaxKeyBytes = 256
	// MaxTargetBytes is the longest dial target name (ERR_DENIED beyond:
	// no route names one).
	MaxTargetBytes = 64
	// MaxStateBytes is the most a guest may stash with a park (stash
	// answers ERR_TOO_LARGE beyond).
	MaxStateBytes = 4096
)

// Limits of the outbound HTTP extension (bubblewasm_http_v1).
const (
	// MaxOpenResponses is how many responses one exchange may hold open at
	// once: request answers ERR_FULL beyond, until one is closed.
	MaxOpenResponses = 8
	// MaxRequestHeaderBytes is the longest header block request accepts
	// (ERR_TOO_LARGE beyond); it is also the most response headers the
	// host reads before it gives up on a response (ERR_IO).
	MaxRequestHeaderBytes = 64 << 10
	// MaxURLBytes is the longest URL request accepts (ERR_INVALID beyond).
	MaxURLBytes = 8 << 10
	// MaxMethodBytes is the longest method request accepts (ERR_INVALID
	// beyond).
	MaxMethodBytes = 32
)
