package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a config file and compile every module it names, binding nothing",
		ArgsUsage: "[MODULE.wasm]",
		Description: "Does everything run does before it binds: reads and checks the config\n" +
			"(default bubble.toml), checks every listener address, loads and compiles\n" +
			"every route's module and makes its first instance, then stops. It binds no\n" +
			"listener. The exit codes are run's: 0 valid, 2 bad command line, 3 bad\n" +
			"configuration or module. Compiled code stays in the cache, so the next\n" +
			"run starts faster.\n\n" +
			"Examples:\n" +
			"   bubblewasm validate\n" +
			"   bubblewasm validate -c examples/hello/bubble.toml\n" +
			"   bubblewasm validate hello.wasm",
		Flags:  serveFlags(),
		Action: validateAction,
	}
}

func validateAction(c *cli.Context) error {
	if _, err := useDefaultConfig(c, true); err != nil {
		return err
	}
	a, cfg, _, err := loadApp(c, nil)
	if err != nil {
		return err
	}
	if err := a.Close(c.Context); err != nil {
		return fail(exitInternal, err)
	}
	fmt.Fprintf(c.App.Writer, "%s: ok: %d route(s) loaded, nothing bound\n", cfg.File, len(cfg.Routes))
	return nil
}
