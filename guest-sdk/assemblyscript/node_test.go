// Package assemblyscript_test runs the AssemblyScript SDK's own tests
// (test/sdk.test.mjs, `npm test`) under go test, so that `make test` covers
// them. They compile the kit, modules/hello-as, modules/echo-as and the
// fixtures with asbuild.sh and run them against the JavaScript host in
// test/host.mjs.
package assemblyscript_test

import (
	"os/exec"
	"testing"
)

func TestNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js 20 or later) is not on PATH; run scripts/deps.sh")
	}
	out, err := exec.Command(node, "--test", "test/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test test/: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
