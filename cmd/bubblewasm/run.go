package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// defaultListen is where `run` serves when neither --listen nor the config
// names a listener.
const defaultListen = "tcp://127.0.0.1:8080"

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "serve a module, or the routes of a config file",
		ArgsUsage: "[MODULE.wasm]",
		Description: "With MODULE.wasm, every exchange on every listener goes to that module.\n" +
			"With --config, listeners and routes come from the TOML file; --listen\n" +
			"replaces the file's listeners. Without either listener source the server\n" +
			"listens on " + defaultListen + ".\n\n" +
			"Examples:\n" +
			"   bubblewasm run hello.wasm\n" +
			"   bubblewasm run --listen unix:///tmp/hello.sock --transport line hello.wasm\n" +
			"   bubblewasm run -c examples/hello/bubble.toml",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "TOML config `FILE`", EnvVars: []string{"BUBBLEWASM_CONFIG"}},
			&cli.StringSliceFlag{Name: "listen", Aliases: []string{"l"}, Usage: "listen on `ADDRESS` (tcp://HOST:PORT or unix:///PATH); repeatable; replaces the config's listeners (default: the config's, else " + defaultListen + ")", EnvVars: []string{"BUBBLEWASM_LISTEN"}},
			&cli.StringFlag{Name: "transport", Aliases: []string{"t"}, Value: "http", Usage: "transport of the --listen addresses: http, line or raw", EnvVars: []string{"BUBBLEWASM_TRANSPORT"}},
			&cli.StringFlag{Name: "instances", Usage: "with MODULE.wasm: `snapshot` (every exchange on an instance restored to its state after init), fresh (a new instance per exchange) or pool (reused instances that keep their state) (default: snapshot, or fresh for a module a snapshot cannot capture)", EnvVars: []string{"BUBBLEWASM_INSTANCES"}},
			&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error (default: the config's, else info)", EnvVars: []string{"BUBBLEWASM_LOG_LEVEL"}},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", EnvVars: []string{"BUBBLEWASM_LOG_FORMAT"}},
			&cli.StringFlag{Name: "admin", Usage: "serve /metrics, /healthz and /readyz on `ADDRESS` (tcp://HOST:PORT or unix:///PATH; replaces the config's [admin] address)", EnvVars: []string{"BUBBLEWASM_ADMIN"}},
		},
		Action: runAction,
	}
}

func runAction(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	logger, err := newLogger(c.App.ErrWriter, firstNonEmpty(c.String("log-level"), cfg.LogLevel), c.String("log-format"))
	if err != nil {
		return fail(exitUsage, err)
	}
	listen := c.StringSlice("listen")
	if len(listen) == 0 && len(cfg.Listeners) == 0 {
		listen = []string{defaultListen}
	}
	if admin := c.String("admin"); admin != "" {
		cfg.Admin.Address = admin
	}
	ctx := c.Context
	a, err := app.New(ctx, cfg, app.Options{Logger: logger, Listen: listen, Transport: c.String("transport")})
	if err != nil {
		return fail(exitConfig, err)
	}
	defer a.Close(ctx)
	if _, err := a.Listen(ctx); err != nil {
		return fail(exitListen, err)
	}
	if err := a.Serve(ctx); err != nil {
		return fail(exitServe, err)
	}
	logger.Info("stopped")
	return nil
}

func loadConfig(c *cli.Context) (*config.Config, error) {
	file := c.String("config")
	switch {
	case file != "" && c.NArg() > 0:
		return nil, fail(exitUsage, errors.New("run takes a module or --config, not both"))
	case c.NArg() > 1:
		return nil, fail(exitUsage, fmt.Errorf("run takes one module, got %d arguments", c.NArg()))
	case file == "" && c.NArg() == 0:
		return nil, fail(exitUsage, errors.New("run needs a module (bubblewasm run hello.wasm) or a config (bubblewasm run -c bubble.toml)"))
	}
	if file == "" {
		inst := c.String("instances")
		switch inst {
		case config.DefaultInstances, config.InstancesSnapshot, config.InstancesFresh, config.InstancesPool:
		default:
			return nil, fail(exitUsage, fmt.Errorf("--instances: %q is not snapshot, fresh or pool", inst))
		}
		cfg, err := app.ModuleConfig(c.Args().First())
		if err != nil {
			return nil, fail(exitConfig, err)
		}
		cfg.Routes[0].Instances = inst
		return cfg, nil
	}
	cfg, err := config.LoadWith(file, app.ConfigOptions())
	if err != nil {
		return nil, fail(exitConfig, err)
	}
	return cfg, nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(firstNonEmpty(level, "info"))); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
