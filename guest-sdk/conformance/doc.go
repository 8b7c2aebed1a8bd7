// Package conformance holds the guest conformance test: it builds the kit
// module of every guest SDK (guest-sdk/LANG/build-kit.sh) and checks it
// against guest-sdk/CONFORMANCE.md on every engine and instance lifecycle,
// over HTTP and the line transport, with real servers on 127.0.0.1.
//
//	go test ./guest-sdk/conformance/ -v
//
// Sub-tests are named LANG/ENGINE/LIFECYCLE/CASE. At the end the test
// prints a language × engine table of pass/fail counts and, when the
// environment variable BUBBLEWASM_KIT_REPORT names a file, writes the table
// there too.
//
// A language without a kit can opt out with a file
// guest-sdk/LANG/KIT_UNSUPPORTED whose content is the reason; the test logs
// it. A build-kit.sh that fails is a test failure, never a skip.
//
// The package has no non-test code.
package conformance
