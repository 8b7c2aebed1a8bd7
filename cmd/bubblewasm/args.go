package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// flagsFirst returns args with every flag of the command they name moved
// before its positional arguments, so that `run hello.wasm --listen ADDR`
// means what `run --listen ADDR hello.wasm` does. urfave/cli v2 parses
// flags with the standard library's flag package, which stops at the first
// positional argument; v2 has no option to change that (its maintainers
// point at reordering the arguments first; v3 does it itself).
//
// A flag keeps its value: the next argument when the command defines the
// flag as taking one and it was not written --name=value. Unknown flags
// move too, so that the parser reports them. Everything after "--" stays
// positional, and args[0] and the flags before the command are untouched.
// With --help the arguments are dropped: the command's help needs none.
func flagsFirst(commands []*cli.Command, args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" && args[i] != "--" {
		i++ // app-level flags (--help, --version) take no value
	}
	if i >= len(args) {
		return args
	}
	var cmd *cli.Command
	for _, c := range commands {
		if c.HasName(args[i]) {
			cmd = c
		}
	}
	if cmd == nil {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		tv, ok := f.(cli.DocGenerationFlag)
		for _, name := range f.Names() {
			takesValue[name] = ok && tv.TakesValue()
		}
	}
	out := append([]string(nil), args[:i+1]...)
	var positional []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			if slices.ContainsFunc(out[i+1:], isHelpFlag) {
				return out
			}
			return append(append(append(out, "--"), positional...), rest[j+1:]...)
		case len(a) < 2 || a[0] != '-':
			positional = append(positional, a)
		default:
			out = append(out, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && j+1 < len(rest) {
				j++
				out = append(out, rest[j])
			}
		}
	}
	if slices.ContainsFunc(out[i+1:], isHelpFlag) {
		return out // cli would read the arguments as a command to show help for
	}
	return append(out, positional...) // none starts with "-" but "-" itself
}

func isHelpFlag(a string) bool {
	return a == "-h" || a == "--help" || a == "-help"
}
