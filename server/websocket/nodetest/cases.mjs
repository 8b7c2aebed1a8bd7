// cases.mjs: one WebSocket scenario against a bubblewasm route, with the
// ws package as the client. Run by ../node_test.go:
//
//   node cases.mjs CASE URL
//
// It prints one JSON line with what it saw ({"ok": true, ...} or
// {"ok": false, "error": ...}) and exits 0 when the scenario went as the
// server should make it go. The "shutdown" case first prints "ready" once
// its socket is open, then waits for the server to close it.
import WebSocket from 'ws';

const [name, url] = process.argv.slice(2);

function open(options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data: Buffer.from(data), isBinary }));
    ws.once('close', (code) => reject(new Error(`closed with ${code} before a message`)));
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const cases = {
  async echo() {
    const ws = await open();
    ws.send('hello');
    let m = await next(ws);
    expect(!m.isBinary && m.data.toString() === 'hello', `text echo: ${m.data}`);
    ws.send(Buffer.from([0, 1, 255]), { binary: true });
    m = await next(ws);
    expect(m.isBinary && m.data.equals(Buffer.from([0, 1, 255])), `binary echo: ${m.data.toString('hex')}`);
    ws.close(1000);
    const c = await closed(ws);
    return { close: c.code };
  },

  // One message in three frames (a text frame and two continuations).
  async fragments() {
    const ws = await open();
    ws.send('frag', { fin: false });
    ws.send('ment', { fin: false });
    ws.send('ed', { fin: true });
    const m = await next(ws);
    expect(m.data.toString() === 'fragmented', `reassembled: ${m.data}`);
    ws.close(1000);
    return {};
  },

  // The client's ping is answered with a pong carrying its payload; the
  // server pings the client on its own (short ping interval).
  async ping() {
    const ws = await open();
    const serverPing = new Promise((resolve) => ws.once('ping', resolve));
    const pong = new Promise((resolve) => ws.once('pong', (data) => resolve(data.toString())));
    ws.ping('are you there');
    expect((await pong) === 'are you there', 'pong payload');
    await serverPing;
    ws.close(1000);
    return {};
  },

  // A message over the route's limit (1 KiB here) closes with 1009.
  async oversize() {
    const ws = await open();
    ws.send('x'.repeat(4096));
    const c = await closed(ws);
    expect(c.code === 1009, `close code ${c.code}`);
    return { close: c.code };
  },

  // A text message that is not UTF-8 closes with 1007.
  async utf8() {
    const ws = await open();
    ws.send(Buffer.from([0x68, 0x69, 0xff, 0xfe]), { binary: false });
    const c = await closed(ws);
    expect(c.code === 1007, `close code ${c.code}`);
    return { close: c.code };
  },

  // A browser on another origin is refused before the upgrade.
  async origin() {
    try {
      await open({ origin: 'https://evil.test' });
    } catch (e) {
      expect(e.message === 'status 403', e.message);
      return { refused: 403 };
    }
    throw new Error('a foreign origin was let in');
  },

  // The client announces a 1000-byte frame, sends 10 bytes of it and
  // vanishes.
  async vanish() {
    const ws = await open();
    const header = Buffer.from([0x81, 0xfe, 0x03, 0xe8, 1, 2, 3, 4]);
    ws._socket.write(Buffer.concat([header, Buffer.alloc(10, 0x61)]));
    ws._socket.destroy();
    return {};
  },

  // The server shuts down while the socket is open: 1001.
  async shutdown() {
    const ws = await open();
    const c = closed(ws);
    process.stdout.write('ready\n');
    const { code } = await c;
    expect(code === 1001, `close code ${code}`);
    return { close: code };
  },
};

const run = cases[name];
if (!run) {
  console.log(JSON.stringify({ ok: false, error: `unknown case ${name}` }));
  process.exit(2);
}
const timer = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: 'timed out' }));
  process.exit(1);
}, 60_000);
try {
  const result = await run();
  console.log(JSON.stringify({ ok: true, ...result }));
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: e.message }));
  process.exit(1);
}
