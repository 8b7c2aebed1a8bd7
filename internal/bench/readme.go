package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// The README's performance section is the text between these markers;
// `bench readme` replaces it with a bench report.
const (
	readmeBegin = "<!-- bench:begin (make bench-readme rewrites this section from make bench's report) -->"
	readmeEnd   = "<!-- bench:end -->"
)

// runReadme is `bench readme REPORT README`: it rewrites README's section
// between the markers with the report.
func runReadme(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: bench readme REPORT.md README.md")
	}
	report, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	readme, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	out, err := replaceSection(readme, report)
	if err != nil {
		return fmt.Errorf("%s: %w", args[1], err)
	}
	return os.WriteFile(args[1], out, 0o644)
}

// replaceSection returns doc with the text between its markers replaced by
// body. The markers stay, so the section can be rewritten again.
func replaceSection(doc, body []byte) ([]byte, error) {
	i := bytes.Index(doc, []byte(readmeBegin))
	j := bytes.Index(doc, []byte(readmeEnd))
	switch {
	case i < 0 || j < 0:
		return nil, fmt.Errorf("no section between %q and %q", readmeBegin, readmeEnd)
	case j < i || bytes.Count(doc, []byte(readmeBegin)) != 1 || bytes.Count(doc, []byte(readmeEnd)) != 1:
		return nil, errors.New("the bench markers must appear once each, begin before end")
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(readmeBegin)])
	out.WriteString("\n\n")
	out.Write(bytes.TrimSpace(body))
	out.WriteString("\n\n")
	out.Write(doc[j:])
	return out.Bytes(), nil
}
