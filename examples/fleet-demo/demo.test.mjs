// Runs the fleet demo (`pnpm start`) end to end, as a user would after
// `bash scripts/setup.sh`: separate gateway processes, a live migration and a
// SIGKILLed gateway, all of it from packages/*/dist. Builds the packages first
// when their dist/ is older than src/.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
function ensureBuilt(pkg) {
  const dir = join(root, 'packages', pkg);
  if (existsSync(join(dir, 'dist')) && newest(join(dir, 'dist')) >= newest(join(dir, 'src'))) return;
  const r = spawnSync('pnpm', ['--filter', `./packages/${pkg}`, 'run', 'build'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`building packages/${pkg} failed:\n${r.stdout}\n${r.stderr}`);
}

const demo = suite('fleet demo (pnpm start)');
demo('places four workloads, migrates one with a continuous console, survives a SIGKILLed gateway and exits 0', () => {
  ensureBuilt('core');
  ensureBuilt('fleet');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'examples/fleet-demo/demo.mjs'), '--quick'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const out = r.stdout;
  assert.is(r.status, 0, `exit ${r.status}\n${out}\n${r.stderr}`);
  assert.not.match(out, /\x1b\[/, 'no cursor movement when stdout is not a terminal');
  for (const w of ['counter-a', 'counter-b', 'primes', 'hello']) assert.match(out, new RegExp(`placed ${w} on gw-\\d \\(from image\\)`));
  assert.match(out, /migrated counter-a: gw-\d -> gw-\d/);
  assert.match(out, /console continues exactly where it stopped/);
  assert.match(out, /gw-\d is offline \(will\)/);
  assert.match(out, /placed counter-b on gw-\d \(from checkpoint\)/);
  assert.match(out, /GATEWAY\s+STATUS/);
  assert.ok(Date.now() - t0 < 30_000, `the demo took ${Date.now() - t0} ms`);
});
demo.run();
