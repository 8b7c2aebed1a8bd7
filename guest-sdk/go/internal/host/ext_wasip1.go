//go:build wasip1

package host

import "unsafe"

// The extension imports. Each is reached only through pubsubImports,
// signalImports, kvImports, dialImports, parkImports or httpImports, so the linker drops
// an extension whose functions the module never calls, and with it the
// import.

func pubsubImports() PubSub  { return wasmPubSub{} }
func signalImports() Signals { return wasmSignals{} }
func kvImports() KV          { return wasmKV{} }
func dialImports() Dial      { return wasmDial{} }
func parkImports() Park      { return wasmPark{} }
func httpImports() HTTP      { return wasmHTTP{} }

type wasmPubSub struct{}

func (wasmPubSub) Publish(channel string, msg []byte) int32 {
	return publish(unsafe.Pointer(unsafe.StringData(channel)), uint32(len(channel)),
		unsafe.Pointer(unsafe.SliceData(msg)), uint32(len(msg)))
}

func (wasmPubSub) Subscribe(channel string, id []byte) int32 {
	return subscribe(unsafe.Pointer(unsafe.StringData(channel)), uint32(len(channel)),
		unsafe.Pointer(unsafe.SliceData(id)), uint32(len(id)))
}

func (wasmPubSub) Fetch(id string, timeoutMS int32, buf []byte) int32 {
	return fetch(unsafe.Pointer(unsafe.StringData(id)), uint32(len(id)), timeoutMS,
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmPubSub) Unsubscribe(id string) int32 {
	return unsubscribe(unsafe.Pointer(unsafe.StringData(id)), uint32(len(id)))
}

type wasmSignals struct{}

func (wasmSignals) SignalWait(name string, timeoutMS int32, buf []byte) int32 {
	return signalWait(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), timeoutMS,
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmSignals) SignalSend(name string, payload []byte) int32 {
	return signalSend(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)),
		unsafe.Pointer(unsafe.SliceData(payload)), uint32(len(payload)))
}

type wasmKV struct{}

func (wasmKV) KVGet(key string, buf []byte) int32 {
	return kvGet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmKV) KVSet(key string, value []byte, ttlMS int32) int32 {
	return kvSet(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)),
		unsafe.Pointer(unsafe.SliceData(value)), uint32(len(value)), ttlMS)
}

func (wasmKV) KVDelete(key string) int32 {
	return kvDelete(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)))
}

type wasmDial struct{}

func (wasmDial) DialCall(target string, req []byte, timeoutMS int32, buf []byte) int32 {
	return dialCall(unsafe.Pointer(unsafe.StringData(target)), uint32(len(target)),
		unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)), timeoutMS,
		unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmDial) DialReply(buf []byte) int32 {
	return dialReply(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmDial) DialStatus() int32 { return dialStatus() }

type wasmPark struct{}

func (wasmPark) ParkMessage(id string, timeoutMS int32) int32 {
	return parkMessage(unsafe.Pointer(unsafe.StringData(id)), uint32(len(id)), timeoutMS)
}

func (wasmPark) ParkSignal(name string, timeoutMS int32) int32 {
	return parkSignal(unsafe.Pointer(unsafe.StringData(name)), uint32(len(name)), timeoutMS)
}

func (wasmPark) ParkSleep(timeoutMS int32) int32 { return parkSleep(timeoutMS) }
func (wasmPark) ParkCancel() int32               { return parkCancel() }

func (wasmPark) ParkStash(state []byte) int32 {
	return parkStash(unsafe.Pointer(unsafe.SliceData(state)), uint32(len(state)))
}

func (wasmPark) ParkState(buf []byte) int32 {
	return parkState(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmPark) ParkPayload(buf []byte) int32 {
	return parkPayload(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

type wasmHTTP struct{}

func (wasmHTTP) HTTPRequest(method, url string, headers, body []byte, timeoutMS int32) int32 {
	return httpRequest(unsafe.Pointer(unsafe.StringData(method)), uint32(len(method)),
		unsafe.Pointer(unsafe.StringData(url)), uint32(len(url)),
		unsafe.Pointer(unsafe.SliceData(headers)), uint32(len(headers)),
		unsafe.Pointer(unsafe.SliceData(body)), uint32(len(body)), timeoutMS)
}

func (wasmHTTP) HTTPStatus(handle int32) int32 { return httpStatus(handle) }

func (wasmHTTP) HTTPHeaders(handle int32, buf []byte) int32 {
	return httpHeaders(handle, unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHTTP) HTTPRead(handle int32, buf []byte) int32 {
	return httpRead(handle, unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
}

func (wasmHTTP) HTTPClose(handle int32) int32 { return httpClose(handle) }

// Random fills b with random bytes from WASI's random_get (the host's
// CSPRNG) and reports whether it succeeded. Package crypto/rand would add
// about a megabyte to the module.
func Random(b []byte) bool {
	return len(b) == 0 || randomGet(unsafe.Pointer(unsafe.SliceData(b)), uint32(len(b))) == 0
}

//go:wasmimport bubblewasm_pubsub_v1 publish
func publish(channelPtr unsafe.Pointer, channelLen uint32, msgPtr unsafe.Pointer, msgLen uint32) int32

//go:wasmimport bubblewasm_pubsub_v1 subscribe
func subscribe(channelPtr unsafe.Pointer, channelLen uint32, idPtr unsafe.Pointer, idCap uint32) int32

//go:wasmimport bubblewasm_pubsub_v1 fetch
func fetch(idPtr unsafe.Pointer, idLen uint32, timeoutMS int32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_pubsub_v1 unsubscribe
func unsubscribe(idPtr unsafe.Pointer, idLen uint32) int32

//go:wasmimport bubblewasm_signal_v1 wait
func signalWait(namePtr unsafe.Pointer, nameLen uint32, timeoutMS int32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_signal_v1 send
func signalSend(namePtr unsafe.Pointer, nameLen uint32, payloadPtr unsafe.Pointer, payloadLen uint32) int32

//go:wasmimport bubblewasm_kv_v1 get
func kvGet(keyPtr unsafe.Pointer, keyLen uint32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_kv_v1 set
func kvSet(keyPtr unsafe.Pointer, keyLen uint32, valuePtr unsafe.Pointer, valueLen uint32, ttlMS int32) int32

//go:wasmimport bubblewasm_kv_v1 delete
func kvDelete(keyPtr unsafe.Pointer, keyLen uint32) int32

//go:wasmimport bubblewasm_dial_v1 call
func dialCall(targetPtr unsafe.Pointer, targetLen uint32, reqPtr unsafe.Pointer, reqLen uint32, timeoutMS int32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_dial_v1 reply
func dialReply(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_dial_v1 status
func dialStatus() int32

//go:wasmimport bubblewasm_park_v1 message
func parkMessage(idPtr unsafe.Pointer, idLen uint32, timeoutMS int32) int32

//go:wasmimport bubblewasm_park_v1 signal
func parkSignal(namePtr unsafe.Pointer, nameLen uint32, timeoutMS int32) int32

//go:wasmimport bubblewasm_park_v1 sleep
func parkSleep(timeoutMS int32) int32

//go:wasmimport bubblewasm_park_v1 cancel
func parkCancel() int32

//go:wasmimport bubblewasm_park_v1 stash
func parkStash(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_park_v1 state
func parkState(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_park_v1 payload
func parkPayload(bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_http_v1 request
func httpRequest(methodPtr unsafe.Pointer, methodLen uint32, urlPtr unsafe.Pointer, urlLen uint32, headersPtr unsafe.Pointer, headersLen uint32, bodyPtr unsafe.Pointer, bodyLen uint32, timeoutMS int32) int32

//go:wasmimport bubblewasm_http_v1 status
func httpStatus(handle int32) int32

//go:wasmimport bubblewasm_http_v1 headers
func httpHeaders(handle int32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_http_v1 read
func httpRead(handle int32, bufPtr unsafe.Pointer, bufLen uint32) int32

//go:wasmimport bubblewasm_http_v1 close
func httpClose(handle int32) int32

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(bufPtr unsafe.Pointer, bufLen uint32) uint32
