package app

import (
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/xrash/smetrics"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server/amqp"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// envKeys are the env keys some transport, source or the router sets
// (abi/ENV.md); envPrefixes start families of them.
var (
	envKeys = []string{
		abi.EnvListener, abi.EnvNetwork, abi.EnvTransport, abi.EnvRoute, abi.EnvURLScheme,
		abi.EnvLineNumber, abi.EnvJSONIndex, abi.EnvJSONRPCMethod, abi.EnvJSONRPCID, abi.EnvJSONRPCNotification,
		abi.EnvServerName, abi.EnvServerPort, abi.EnvServerProtocol, abi.EnvRemoteAddr, abi.EnvRemotePort,
		abi.EnvRequestMethod, abi.EnvRequestURI, abi.EnvScriptName, abi.EnvPathInfo, abi.EnvQueryString,
		abi.EnvContentType, abi.EnvContentLength, abi.EnvResume, abi.EnvWake,
		amqp.EnvQueue, amqp.EnvExchange, amqp.EnvRoutingKey, amqp.EnvCorrelationID, amqp.EnvReplyTo,
		amqp.EnvMessageID, amqp.EnvRedelivered, amqp.EnvContentType,
	}
	envPrefixes = []string{abi.EnvHTTPPrefix, amqp.EnvHeaderPrefix}
	// envAliases are the words people write for a key.
	envAliases = map[string]string{
		"path": abi.EnvPathInfo, "method": abi.EnvRequestMethod, "verb": abi.EnvRequestMethod,
		"query": abi.EnvQueryString, "uri": abi.EnvRequestURI, "url": abi.EnvRequestURI,
		"host": "HTTP_HOST", "transport": abi.EnvTransport, "listener": abi.EnvListener,
	}
	// envCase is the case of the values of keys whose values have one.
	envCase = map[string]func(string) string{
		abi.EnvRequestMethod: strings.ToUpper,
		abi.EnvTransport:     strings.ToLower,
		abi.EnvNetwork:       strings.ToLower,
	}
)

// warnRoutes logs what in the routes' matches is most likely a mistake:
// a key no transport sets (match = { path = "/x" }), a value in the wrong
// case (REQUEST_METHOD = "get"), and routes an earlier catch-all (a route
// without match) leaves unreachable. None of them stops the load.
func warnRoutes(logger *slog.Logger, cfg *config.Config) {
	for _, rc := range cfg.Routes {
		log := logger.With("file", cfg.File, "line", rc.Line, "route", rc.Name)
		for _, key := range slices.Sorted(maps.Keys(rc.Match)) {
			value := rc.Match[key]
			if !knownEnvKey(key) {
				log.Warn("match key that no transport sets: the route never matches on it (keys: abi/ENV.md)", "key", key, "likely", likelyEnvKey(key))
				continue
			}
			if fix := envCase[key]; fix != nil && fix(value) != value {
				log.Warn("match value in the wrong case: the route never matches on it", "key", key, "value", value, "likely", fix(value))
			}
		}
	}
	for i, rc := range cfg.Routes {
		if len(rc.Match) > 0 || i == len(cfg.Routes)-1 {
			continue
		}
		for _, later := range cfg.Routes[i+1:] {
			logger.Warn("route never reached: an earlier route has no match and takes every exchange (move it last, or give it a match)",
				"file", cfg.File, "line", later.Line, "route", later.Name, "catch_all", rc.Name, "catch_all_line", rc.Line)
		}
		return
	}
}

// warnResidency warns about resident_modules without cache_dir: every
// module unloaded is then compiled from scratch by its next exchange.
func warnResidency(logger *slog.Logger, cfg *config.Config) {
	if cfg.Limits.ResidentModules > 0 && cfg.CacheDir == "" {
		logger.Warn("[limits] resident_modules without cache_dir: a route whose module was unloaded compiles it from scratch on its next request (about a second for a Go module, milliseconds from the cache); set cache_dir",
			"file", cfg.File, "resident_modules", cfg.Limits.ResidentModules)
	}
}

func knownEnvKey(key string) bool {
	return slices.Contains(envKeys, key) || slices.ContainsFunc(envPrefixes, func(p string) bool {
		return strings.HasPrefix(key, p) && len(key) > len(p)
	})
}

// likelyEnvKey guesses the key a user meant: the same key in another case
// or with '-' for '_', a usual word for it, the nearest key (Jaro-Winkler,
// as urfave/cli suggests flags), else the key of a request header of that
// name.
func likelyEnvKey(key string) string {
	norm := strings.ToUpper(strings.ReplaceAll(key, "-", "_"))
	for _, k := range envKeys {
		if strings.ToUpper(strings.ReplaceAll(k, "-", "_")) == norm {
			return k
		}
	}
	if k, ok := envAliases[strings.ToLower(key)]; ok {
		return k
	}
	best, score := "", 0.0
	for _, k := range envKeys {
		if s := smetrics.JaroWinkler(norm, strings.ToUpper(k), 0.7, 4); s > score {
			best, score = k, s
		}
	}
	if score >= 0.9 {
		return best
	}
	return abi.EnvHTTPPrefix + strings.TrimPrefix(norm, abi.EnvHTTPPrefix)
}
