import { connect } from 'node:net';

/**
 * One QMP command over QEMU's monitor socket: read the greeting, negotiate capabilities, send the command, return
 * its `return` value. QMP is line-delimited JSON; asynchronous events arriving in between are skipped.
 */
export async function qmpCommand(socketPath: string, execute: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => finish(new Error(`QMP ${execute} timed out on ${socketPath}`)), timeoutMs);
    function finish(err: Error | null, value?: unknown): void {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    }
    sock.on('error', (e) => finish(new Error(`QMP socket ${socketPath}: ${e.message}`)));
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === '') continue;
        const msg = JSON.parse(line) as {
          QMP?: unknown;
          return?: unknown;
          error?: { desc?: string };
          event?: string;
        };
        if (msg.event !== undefined) continue;
        if (msg.error !== undefined) return finish(new Error(`QMP ${execute}: ${msg.error.desc ?? 'error'}`));
        if (step === 0 && msg.QMP !== undefined) {
          step = 1;
          sock.write('{"execute":"qmp_capabilities"}\n');
        } else if (step === 1 && 'return' in msg) {
          step = 2;
          sock.write(`${JSON.stringify({ execute })}\n`);
        } else if (step === 2 && 'return' in msg) {
          return finish(null, msg.return);
        }
      }
    });
  });
}
