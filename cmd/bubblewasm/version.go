package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/bubblewasm/bubblewasm/abi"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, the ABI version and the engines",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "bubblewasm %s\nabi: %s (version %d)\ngo: %s\nengines: wazero %s\n",
				version, abi.ModuleName, abi.Version, runtime.Version(), moduleVersion("github.com/tetratelabs/wazero"))
			return nil
		},
	}
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
