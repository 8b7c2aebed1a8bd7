package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// defaultConfigFile is the config that run and validate read from the
// working directory when given neither a module nor --config.
const defaultConfigFile = "bubble.toml"

// useDefaultConfig sets --config to defaultConfigFile when the command
// line names neither a module nor a config, and reports whether it did:
// when the file exists, or always when required (validate, whose error
// then names the missing file).
func useDefaultConfig(c *cli.Context, required bool) (bool, error) {
	if c.String("config") != "" || c.NArg() > 0 {
		return false, nil
	}
	if _, err := os.Stat(defaultConfigFile); !required && errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err := c.Set("config", defaultConfigFile); err != nil {
		return false, fail(exitInternal, err)
	}
	return true, nil
}

// logDefaultConfig says which file a run without --config reads.
func logDefaultConfig(logger *slog.Logger, file string) {
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	logger.Info("no module or --config given: reading "+defaultConfigFile, "config", file)
}

// logRouteURLs logs, once the listeners are bound, where each route can be
// reached (app.RouteURLs): one line per listener and route.
func logRouteURLs(logger *slog.Logger, a *app.App, addrs []server.Address) {
	for _, u := range a.RouteURLs(addrs) {
		logger.Info("route", u.Attrs()...)
	}
}
