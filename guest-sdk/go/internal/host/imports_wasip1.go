//go:build wasip1

package host

import "unsafe"

func defaultHost() Host { return wasmHost{} }

// wasmHost calls the real imports. Go's garbage collector does not move
// objects, so pointers into Go memory stay valid for the call.
type wasmHost struct{}

func (wasmHost) EnvGet(key string, buf []byte) int32 {
	return envGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHost) EnvKeys(buf []byte) int32 {
	return envKeys(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHost) EnvAll(buf []byte) int32 {
	return envAll(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHost) Read(buf []byte) int32 {
	return read(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHost) Write(buf []byte) int32 {
	return write(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHost) Flush() int32 { return flush() }

func (wasmHost) SetStatus(code int32) int32 { return setStatus(code) }

func (wasmHost) SetHeader(name, value string) int32 {
	return setHeader(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
		unsafe.Pointer(unsafe.StringData(value)), uint32(len(value)))
}

func (wasmHost) AddHeader(name, value string) int32 {
	return addHeader(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
		unsafe.Pointer(unsafe.StringData(value)), uint32(len(value)))
}

func (wasmHost) Log(level int32, msg string) {
	logMsg(level, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

//go:wasmimport bubblewasm_v1 env_get
func envGet(keyPtr unsafe.Pointer, keyLen uint32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_v1 env_keys
func envKeys(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_v1 env_all
func envAll(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_v1 read
func read(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_v1 write
func write(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_v1 flush
func flush() int32

//go:wasmimport bubblewasm_v1 set_status
func setStatus(code int32) int32

//go:wasmimport bubblewasm_v1 set_header
func setHeader(namePtr unsafe.Pointer, nameLen uint32, valuePtr unsafe.Pointer, valueLen uint32) int32

//go:wasmimport bubblewasm_v1 add_header
func addHeader(namePtr unsafe.Pointer, nameLen uint32, valuePtr unsafe.Pointer, valueLen uint32) int32

//go:wasmimport bubblewasm_v1 log
func logMsg(level int32, msgPtr unsafe.Pointer, msgLen uint32)
