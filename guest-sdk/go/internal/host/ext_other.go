//go:build !wasip1

package host

import "crypto/rand"

func pubsubImports() PubSub  { return noHost{} }
func signalImports() Signals { return noHost{} }
func kvImports() KV          { return noHost{} }
func dialImports() Dial      { return noHost{} }
func parkImports() Park      { return noHost{} }
func httpImports() HTTP      { return noHost{} }

func (noHost) Publish(string, []byte) int32                            { panic(noHostMsg) }
func (noHost) Subscribe(string, []byte) int32                          { panic(noHostMsg) }
func (noHost) Fetch(string, int32, []byte) int32                       { panic(noHostMsg) }
func (noHost) Unsubscribe(string) int32                                { panic(noHostMsg) }
func (noHost) SignalWait(string, int32, []byte) int32                  { panic(noHostMsg) }
func (noHost) SignalSend(string, []byte) int32                         { panic(noHostMsg) }
func (noHost) KVGet(string, []byte) int32                              { panic(noHostMsg) }
func (noHost) KVSet(string, []byte, int32) int32                       { panic(noHostMsg) }
func (noHost) KVDelete(string) int32                                   { panic(noHostMsg) }
func (noHost) DialCall(string, []byte, int32, []byte) int32            { panic(noHostMsg) }
func (noHost) DialReply([]byte) int32                                  { panic(noHostMsg) }
func (noHost) DialStatus() int32                                       { panic(noHostMsg) }
func (noHost) ParkMessage(string, int32) int32                         { panic(noHostMsg) }
func (noHost) ParkSignal(string, int32) int32                          { panic(noHostMsg) }
func (noHost) ParkSleep(int32) int32                                   { panic(noHostMsg) }
func (noHost) ParkCancel() int32                                       { panic(noHostMsg) }
func (noHost) ParkStash([]byte) int32                                  { panic(noHostMsg) }
func (noHost) ParkState([]byte) int32                                  { panic(noHostMsg) }
func (noHost) ParkPayload([]byte) int32                                { panic(noHostMsg) }
func (noHost) HTTPRequest(string, string, []byte, []byte, int32) int32 { panic(noHostMsg) }
func (noHost) HTTPStatus(int32) int32                                  { panic(noHostMsg) }
func (noHost) HTTPHeaders(int32, []byte) int32                         { panic(noHostMsg) }
func (noHost) HTTPRead(int32, []byte) int32                            { panic(noHostMsg) }
func (noHost) HTTPClose(int32) int32                                   { panic(noHostMsg) }

// Random fills b with random bytes from crypto/rand and reports whether it
// succeeded (always, since Go 1.24).
func Random(b []byte) bool {
	rand.Read(b)
	return true
}
