// Entry point of the fake `firecracker` binary the Firecracker driver test spawns (bundled with esbuild):
// `fake --api-sock S --id X` serves the fake API, prints every request as a "FAKE-FC {json}" line to stdout (the
// instance's log file), and exits on SendCtrlAltDel like Firecracker does when the guest resets.
import { startFakeFirecracker } from './test-firecracker-fake.js';

const sock = process.argv[process.argv.indexOf('--api-sock') + 1];
if (sock === undefined) throw new Error('--api-sock missing');
const fake = await startFakeFirecracker(sock, (action) => {
  if (action === 'SendCtrlAltDel') setTimeout(() => process.exit(0), 100);
});
setInterval(() => {
  for (const r of fake.requests.splice(0)) console.log(`FAKE-FC ${JSON.stringify(r)}`);
}, 20);
