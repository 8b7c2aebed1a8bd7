// echo-as: the AssemblyScript twin of modules/echo. It streams its input
// back with the request's Content-Type, holding one 32 KiB buffer however
// large the input is. Build: bash modules/echo-as/build.sh OUT.wasm
import * as bubble from "../../guest-sdk/assemblyscript/assembly/bubble";
export { bubble_handle, bubble_init } from "../../guest-sdk/assemblyscript/assembly/bubble";

// Reused by every exchange of an instance; exchanges never overlap.
const buf = new Uint8Array(32 << 10);

function echo(): i32 {
  let ct = bubble.envGet("CONTENT_TYPE");
  if (ct !== null && bubble.setHeader("Content-Type", ct) < 0) return 1;
  while (true) {
    let n = bubble.read(buf);
    if (n == 0) return 0; // end of input
    if (n < 0) {
      bubble.log(bubble.Level.Error, "echo: read: " + bubble.errorName(n));
      return 1;
    }
    if (bubble.writeUnsafe(buf.dataStart, <usize>n) < 0) return 1;
  }
}

bubble.handle(echo);
