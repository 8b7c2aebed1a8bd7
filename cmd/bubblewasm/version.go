package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the ABI version and the engines",
		Action: func(c *cli.Context) error {
			printVersion(c.App.Writer)
			return nil
		},
	}
}

// printVersion prints what `bubblewasm version` and `--version` print.
func printVersion(w io.Writer) {
	fmt.Fprintf(w, "bubblewasm %s\nabi: %s (version %d)\ngo: %s\nengines: wazero %s, %s\n",
		version, abi.ModuleName, abi.Version, runtime.Version(), moduleVersion("github.com/tetratelabs/wazero"), wasmtimeVersion())
}

// wasmtimeVersion describes the wasmtime engine of this build: its
// wasmtime-go version, or why there is none (a build without cgo).
func wasmtimeVersion() string {
	e, err := app.NewEngine(config.EngineWasmtime, "")
	if err != nil {
		return "wasmtime unavailable: " + strings.TrimPrefix(err.Error(), app.ErrEngineUnavailable.Error()+": ")
	}
	e.Close(context.Background())
	return "wasmtime " + moduleVersion("github.com/bytecodealliance/wasmtime-go/v39")
}

func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range info.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return "unknown"
}
