package abi

// Environment keys. ENV.md is the table of who sets each one.
const (
	// EnvListener is the name of the listener the connection came in on.
	EnvListener = "bubble.listener"
	// EnvNetwork is the listener's network: "tcp" or "unix".
	EnvNetwork = "bubble.network"
	// EnvTransport names the transport that produced the exchange.
	EnvTransport = "bubble.transport"
	// EnvRoute is the name of the route that matched.
	EnvRoute = "bubble.route"
	// EnvRequestID identifies the exchange in the access log and in every
	// log record it causes: a valid X-Request-Id the client sent, or one the
	// server made.
	EnvRequestID = "bubble.request_id"
	// EnvURLScheme is "http" or "https" on HTTP exchanges.
	EnvURLScheme = "bubble.url_scheme"
	// EnvLineNumber is the 1-based line number on a line-transport connection.
	EnvLineNumber = "line.number"
	// EnvJSONIndex is the 1-based message number on a json-transport
	// connection.
	EnvJSONIndex = "json.index"
	// EnvJSONRPCMethod is the method of a JSON-RPC call.
	EnvJSONRPCMethod = "jsonrpc.method"
	// EnvJSONRPCID is the JSON text of a JSON-RPC call's id (1, "abc",
	// null); absent for notifications.
	EnvJSONRPCID = "jsonrpc.id"
	// EnvJSONRPCNotification is "1" on a JSON-RPC notification (a call
	// without id, never answered).
	EnvJSONRPCNotification = "jsonrpc.notification"

	// CGI names.
	EnvServerName     = "SERVER_NAME"
	EnvServerPort     = "SERVER_PORT"
	EnvServerProtocol = "SERVER_PROTOCOL"
	EnvRemoteAddr     = "REMOTE_ADDR"
	EnvRemotePort     = "REMOTE_PORT"
	EnvRequestMethod  = "REQUEST_METHOD"
	EnvRequestURI     = "REQUEST_URI"
	EnvScriptName     = "SCRIPT_NAME"
	EnvPathInfo       = "PATH_INFO"
	EnvQueryString    = "QUERY_STRING"
	EnvContentType    = "CONTENT_TYPE"
	EnvContentLength  = "CONTENT_LENGTH"
	// EnvHTTPPrefix starts the key of every request header: HTTP_USER_AGENT.
	EnvHTTPPrefix = "HTTP_"

	// EnvVarPrefix starts the key of each of a route's variables
	// ([route.vars]): var.db_password. Reserved: only the wasm handler
	// sets these keys, from its own route's configuration.
	EnvVarPrefix = "var."
)

// TLS keys, on every exchange of a connection that came in over TLS
// (listener keys, like bubble.listener).
const (
	// EnvTLSVersion is the negotiated TLS version: "1.2" or "1.3".
	EnvTLSVersion = "tls.version"
	// EnvTLSCipher is the cipher suite's IANA name
	// (TLS_AES_128_GCM_SHA256).
	EnvTLSCipher = "tls.cipher"
	// EnvTLSServerName is the server name the client asked for (SNI);
	// absent if it sent none.
	EnvTLSServerName = "tls.server_name"
	// EnvTLSClientSubject is the subject of the verified client
	// certificate (CN=alice,O=Example), on listeners that require one.
	EnvTLSClientSubject = "tls.client_subject"
	// EnvHTTPS is "on" on HTTP exchanges over TLS (CGI's HTTPS);
	// absent otherwise.
	EnvHTTPS = "HTTPS"
)
