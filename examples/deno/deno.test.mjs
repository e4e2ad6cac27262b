// Runs the Deno examples (real Deno 2 from the `deno` npm package) and compares their
// output with the same image under QEMU. The examples import packages/core/dist, so this
// builds the core (tsup) and its bundles (rollup) first when they are older than src/.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedAverages } from '../gateway/expected.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const core = join(root, 'packages/core');
const deno = join(root, 'node_modules/.bin/deno');
const hello = join(root, 'examples/hello/hello.elf');
const helloMachine = join(root, 'examples/hello/hello-machine.elf');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
function sh(cmd, args, cwd = root) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  if (r.error) throw r.error;
  return { code: r.status, out: r.stdout.replace(/\r\n/g, '\n'), err: r.stderr };
}
function ensureBuilt() {
  const src = newest(join(core, 'src'));
  const stale = (f) => !existsSync(f) || statSync(f).mtimeMs < src;
  if (stale(join(core, 'dist/vm/index.js'))) {
    const r = sh('pnpm', ['run', 'build'], core);
    assert.is(r.code, 0, `core build failed:\n${r.out}${r.err}`);
  }
  if (stale(join(core, 'dist/bundle/index.js'))) {
    const r = sh(process.execPath, [join(root, 'node_modules/rollup/dist/bin/rollup'), '-c']);
    assert.is(r.code, 0, `rollup failed:\n${r.out}${r.err}`);
  }
}

const test = suite('deno examples');
test.before(ensureBuilt);

test('hello.ts runs the app-profile hello guest from dist like qemu-riscv32', () => {
  const oracle = sh('qemu-riscv32', [hello, 'one', 'two']);
  const r = sh(deno, ['run', '--allow-read', 'examples/deno/hello.ts', hello, 'one', 'two']);
  assert.is(r.err, '');
  assert.is(r.code, oracle.code);
  assert.is(r.out, oracle.out);
});

test('hello.ts runs the machine-profile guest like qemu-system-riscv32 virt', () => {
  const oracle = sh('qemu-system-riscv32', ['-machine', 'virt', '-bios', 'none', '-kernel', helloMachine, '-display', 'none', '-serial', 'stdio', '-monitor', 'none']);
  const r = sh(deno, ['run', '--allow-read', 'examples/deno/hello.ts', helloMachine]);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, oracle.out);
});

test('bundle.ts runs the hello guest from the single-file bundle like qemu-riscv32', () => {
  const oracle = sh('qemu-riscv32', [hello]);
  const r = sh(deno, ['run', '--allow-read', 'examples/deno/bundle.ts', hello]);
  assert.is(r.err, '');
  assert.is(r.code, oracle.code);
  assert.is(r.out, oracle.out);
});

test('gateway.ts runs sensor -> filter -> logger partitions to completion on Deno', () => {
  const r = sh(deno, ['run', '--allow-read', '--allow-env=CBOR_NATIVE_ACCELERATION_DISABLED', 'examples/deno/gateway.ts', '60']);
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  const logged = r.out.split('\n').filter((l) => l.startsWith('[logger]') && l.includes(' avg ')).map((l) => l.replace(/^.*(#\d+.*)$/, '$1'));
  assert.equal(logged, expectedAverages());
  assert.match(r.out, '[sensor] sensor: sent 40 readings, 0 dropped');
  assert.match(r.out, '[filter] filter: averaged 40 readings');
  assert.match(r.out, /^logger +stopped /m);
});

test.run();
