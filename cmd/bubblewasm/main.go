// Command bubblewasm serves WebAssembly handlers behind native listeners and
// transports. `bubblewasm --help` lists the commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit codes that scripts can rely on.
const (
	exitOK       = 0 // served and stopped cleanly
	exitServe    = 1 // failed while serving
	exitUsage    = 2 // bad command line
	exitConfig   = 3 // bad configuration or module; nothing was bound (build: a build failed)
	exitListen   = 4 // a listener could not bind
	exitInternal = 5 // anything else
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func fail(code int, err error) error { return &exitError{code: code, err: err} }

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:  "bubblewasm",
		Usage: "serve WebAssembly handlers over TCP, unix sockets, HTTP and line protocols",
		Description: "Listeners and transports are native; every request handler is a sandboxed\n" +
			"WebAssembly module speaking the bubblewasm ABI (see abi/ABI.md).\n\n" +
			"Exit codes: 0 stopped cleanly, 1 failed while serving, 2 bad command line,\n" +
			"3 bad configuration or module (nothing bound; for build: a build failed;\n" +
			"for inspect: not a valid module), 4 a listener could not bind.",
		Version:         version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideVersion:     true,
		ExitErrHandler:  func(*cli.Context, error) {},
		CommandNotFound: func(c *cli.Context, name string) {},
		Commands:        []*cli.Command{runCommand(), validateCommand(), newCommand(), buildCommand(), inspectCommand(), versionCommand()},
		Flags:           []cli.Flag{&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version (as the version command does)"}},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				printVersion(c.App.Writer)
				return nil
			}
			if c.NArg() > 0 {
				return fail(exitUsage, fmt.Errorf("unknown command %q (see bubblewasm --help)", c.Args().First()))
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return fail(exitUsage, err)
		},
	}
	err := app.RunContext(ctx, flagsFirst(app.Commands, args))
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "bubblewasm: %v\n", err)
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return exitUsage // urfave/cli's own errors are about the command line
}
