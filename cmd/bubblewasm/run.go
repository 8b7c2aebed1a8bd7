package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/bubblewasm/bubblewasm/server/accesslog"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/transport"
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
			"listens on " + defaultListen + ". With neither a module nor --config, run\n" +
			"reads ./bubble.toml. Once bound, it logs each route's URL.\n\n" +
			"Examples:\n" +
			"   bubblewasm run\n" +
			"   bubblewasm run hello.wasm\n" +
			"   bubblewasm run --listen unix:///tmp/hello.sock --transport line hello.wasm\n" +
			"   bubblewasm run -c examples/hello/bubble.toml\n" +
			"   bubblewasm run --watch -c bubble.toml   (edit a source: rebuilt and served)",
		Flags:  append(serveFlags(), &cli.BoolFlag{Name: "watch", Usage: "rebuild a route's module when its sources change (the recipe of bubblewasm build) and reload; reload when the config changes"}),
		Action: runAction,
	}
}

// serveFlags are the flags of run and validate.
func serveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "TOML config `FILE`", EnvVars: []string{"BUBBLEWASM_CONFIG"}},
		&cli.StringSliceFlag{Name: "listen", Aliases: []string{"l"}, Usage: "listen on `ADDRESS` (tcp://HOST:PORT or unix:///PATH); repeatable; replaces the config's listeners (default: the config's, else " + defaultListen + ")", EnvVars: []string{"BUBBLEWASM_LISTEN"}},
		&cli.StringFlag{Name: "transport", Aliases: []string{"t"}, Value: "http", Usage: "transport of the --listen addresses: http, line or raw", EnvVars: []string{"BUBBLEWASM_TRANSPORT"}},
		&cli.StringFlag{Name: "instances", Usage: "with MODULE.wasm: `snapshot` (every exchange on an instance restored to its state after init), fresh (a new instance per exchange) or pool (reused instances that keep their state) (default: snapshot, or fresh for a module a snapshot cannot capture)", EnvVars: []string{"BUBBLEWASM_INSTANCES"}},
		&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error (default: the config's, else info)", EnvVars: []string{"BUBBLEWASM_LOG_LEVEL"}},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", EnvVars: []string{"BUBBLEWASM_LOG_FORMAT"}},
		&cli.StringFlag{Name: "admin", Usage: "serve /metrics, /healthz and /readyz on `ADDRESS` (tcp://HOST:PORT or unix:///PATH; replaces the config's [admin] address)", EnvVars: []string{"BUBBLEWASM_ADMIN"}},
	}
}

func runAction(c *cli.Context) error {
	// SIGHUP (systemctl reload) must not kill the server: caught from the
	// start, answered once listening (reloads).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx := c.Context
	// Beside the server until run returns: watchdog pings (from the start:
	// loading modules can take a while), answers to SIGHUP, READY=1.
	aside, stopAside := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopAside()
	var sd notifier
	closeAccess := func() {}
	defer func() { closeAccess() }()
	a, _, logger, err := loadApp(c, func(cfg *config.Config, logger *slog.Logger, opts *app.Options) error {
		access, done, err := openAccessLog(c, cfg)
		if err != nil {
			return fail(exitConfig, err)
		}
		closeAccess, opts.AccessLog = done, access
		sd = notifier{logger: logger}
		wg.Go(func() { sd.watchdog(aside) })
		opts.Inherited = inheritedSockets()
		opts.Stopping = func() { sd.notify(daemon.SdNotifyStopping) }
		return nil
	})
	if err != nil {
		return err
	}
	defer a.Close(ctx)
	addrs, err := a.Listen(ctx)
	if err != nil {
		return fail(exitListen, err)
	}
	logRouteURLs(logger, a, addrs)
	reload := reloader(logger, sd, func() error {
		cfg, err := loadConfig(c)
		if err != nil {
			return err
		}
		overrideConfig(c, cfg)
		return a.Reload(aside, cfg)
	})
	wg.Go(func() { reloads(aside, hup, reload) })
	if c.Bool("watch") {
		w, err := newWatcher(c, logger, reload)
		if err != nil {
			return fail(exitServe, err)
		}
		defer w.close()
		wg.Go(func() { w.run(aside) })
	}
	serving, stopServing := context.WithCancel(ctx)
	defer stopServing()
	wg.Go(func() {
		if a.Ready(serving) == nil {
			sd.notify(daemon.SdNotifyReady)
		}
	})
	if err := a.Serve(ctx); err != nil {
		return fail(exitServe, err)
	}
	logger.Info("stopped")
	return nil
}

// reloads answers SIGHUP until ctx ends, with reload.
func reloads(ctx context.Context, hup <-chan os.Signal, reload func(cause string) bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload("SIGHUP")
		}
	}
}

// reloader returns the function that reloads the configuration and every
// module (load, then app.Reload), one reload at a time, telling systemd
// RELOADING=1 before and READY=1 after (Type=notify-reload). A reload that
// fails changes nothing: each of its errors is logged, the server keeps
// serving, and the function reports false.
func reloader(logger *slog.Logger, sd notifier, load func() error) func(cause string) bool {
	var mu sync.Mutex
	return func(cause string) bool {
		mu.Lock()
		defer mu.Unlock()
		logger.Info("reloading", "cause", cause)
		sd.notify(reloadingState())
		defer sd.notify(daemon.SdNotifyReady)
		err := load()
		if err == nil {
			return true
		}
		errs := []error{err}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			errs = joined.Unwrap()
		}
		for _, err := range errs {
			logger.Error("reload failed: still serving the previous configuration", "err", err)
		}
		return false
	}
}

// reloadingState is RELOADING=1 with the time on the monotonic clock, which
// systemd requires of a Type=notify-reload service.
func reloadingState() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return daemon.SdNotifyReloading
	}
	return fmt.Sprintf("%s\nMONOTONIC_USEC=%d", daemon.SdNotifyReloading, ts.Nano()/1000)
}

// loadApp does all run does before binding: it reads the config (or makes
// one for a module), and loads and compiles every route's module. before,
// when set, runs once the config and the logger exist and before modules
// load; it may add to the app's options, and its error stops the load.
func loadApp(c *cli.Context, before func(cfg *config.Config, logger *slog.Logger, opts *app.Options) error) (*app.App, *config.Config, *slog.Logger, error) {
	if err := checkListenFlags(c); err != nil {
		return nil, nil, nil, err
	}
	defaulted, err := useDefaultConfig(c, false)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, nil, nil, err
	}
	logger, err := newLogger(c.App.ErrWriter, firstNonEmpty(c.String("log-level"), cfg.LogLevel), c.String("log-format"))
	if err != nil {
		return nil, nil, nil, fail(exitUsage, err)
	}
	if defaulted {
		logDefaultConfig(logger, cfg.File)
	}
	listen := c.StringSlice("listen")
	if len(listen) == 0 && len(cfg.Listeners) == 0 {
		listen = []string{defaultListen}
	}
	overrideConfig(c, cfg)
	opts := app.Options{Logger: logger, Listen: listen, Transport: c.String("transport")}
	if before != nil {
		if err := before(cfg, logger, &opts); err != nil {
			return nil, nil, nil, err
		}
	}
	a, err := app.New(c.Context, cfg, opts)
	if err != nil {
		return nil, nil, nil, fail(exitConfig, err)
	}
	return a, cfg, logger, nil
}

// overrideConfig applies the flags that replace a config file's settings
// (--admin), at start and at every reload alike.
func overrideConfig(c *cli.Context, cfg *config.Config) {
	if admin := c.String("admin"); admin != "" {
		cfg.Admin.Address = admin
	}
}

// checkListenFlags checks --listen and --transport: a bad one is a bad
// command line (exit 2), not a bad configuration.
func checkListenFlags(c *cli.Context) error {
	for _, addr := range c.StringSlice("listen") {
		if err := app.CheckAddress(addr); err != nil {
			return fail(exitUsage, fmt.Errorf("--listen: %w", err))
		}
	}
	if t := c.String("transport"); transport.Default()[t] == nil {
		return fail(exitUsage, fmt.Errorf("--transport: %q is not %s", t, strings.Join(transport.Default().Names(), ", ")))
	}
	return nil
}

func loadConfig(c *cli.Context) (*config.Config, error) {
	file := c.String("config")
	switch {
	case file != "" && c.NArg() > 0:
		return nil, fail(exitUsage, fmt.Errorf("%s takes a module or --config, not both", c.Command.Name))
	case c.NArg() > 1:
		return nil, fail(exitUsage, fmt.Errorf("%s takes one module, got %d arguments: %q", c.Command.Name, c.NArg(), c.Args().Slice()))
	case file == "" && c.NArg() == 0:
		return nil, fail(exitUsage, fmt.Errorf("%[1]s needs a module (bubblewasm %[1]s hello.wasm) or a config (bubblewasm %[1]s -c FILE), and there is no %[2]s in this directory", c.Command.Name, defaultConfigFile))
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
	case config.FormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case config.FormatJSON:
		opts.ReplaceAttr = accesslog.JSONDurations // "timeout_ms": 10000, not "timeout": 10000000000
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", format)
}

// openAccessLog returns the logger of the [access_log] table: nil when it
// is off, records in its format (by default the server log's) to stderr,
// stdout or a file opened for appending, which the returned function
// closes.
func openAccessLog(c *cli.Context, cfg *config.Config) (*slog.Logger, func(), error) {
	al := cfg.AccessLog
	format := firstNonEmpty(al.Format, c.String("log-format"))
	var w io.Writer
	done := func() {}
	switch al.Output {
	case config.AccessLogOff:
		return nil, done, nil
	case "", config.AccessLogStderr:
		w = c.App.ErrWriter
	case config.AccessLogStdout:
		w = c.App.Writer
	default:
		f, err := os.OpenFile(al.Output, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("%s:%d: access_log.output: %w", cfg.File, al.Line, err)
		}
		w, done = f, func() { f.Close() }
	}
	logger, err := newLogger(w, config.LogInfo, format)
	if err != nil {
		done()
		return nil, nil, err
	}
	return logger, done, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
