// Command is a WASI command for the RunCommand tests: it prints its
// arguments and environment, copies stdin to stdout, reports the count on
// stderr and exits with the status in $EXIT.
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

func main() {
	fmt.Printf("args=%q\n", os.Args)
	fmt.Printf("env=%q\n", os.Environ())
	n, err := io.Copy(os.Stdout, os.Stdin)
	fmt.Fprintf(os.Stderr, "copied %d bytes, err %v\n", n, err)
	code, _ := strconv.Atoi(os.Getenv("EXIT"))
	os.Exit(code)
}
