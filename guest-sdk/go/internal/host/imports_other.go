//go:build !wasip1

package host

func defaultHost() Host { return noHost{} }

// noHost stands in for the imports outside wasm: every call panics, since
// SDK functions only work inside an exchange that a test runs.
type noHost struct{}

const noHostMsg = "bubble: no host outside wasip1; run the handler with bubbletest.Serve"

func (noHost) EnvGet(string, []byte) int32    { panic(noHostMsg) }
func (noHost) EnvKeys([]byte) int32           { panic(noHostMsg) }
func (noHost) EnvAll([]byte) int32            { panic(noHostMsg) }
func (noHost) Read([]byte) int32              { panic(noHostMsg) }
func (noHost) Write([]byte) int32             { panic(noHostMsg) }
func (noHost) Flush() int32                   { panic(noHostMsg) }
func (noHost) SetStatus(int32) int32          { panic(noHostMsg) }
func (noHost) SetHeader(string, string) int32 { panic(noHostMsg) }
func (noHost) AddHeader(string, string) int32 { panic(noHostMsg) }
func (noHost) Log(int32, string)              { panic(noHostMsg) }
