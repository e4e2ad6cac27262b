#!/usr/bin/env node
// Runs every package's uvu suites (and, where listed, the same files on Deno),
// then prints one closing line `N passed, N failed`. A suite set that runs no
// test counts as a failure: uvu alone exits 0 when it finds nothing.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

/** [label, cwd, command, args, env] */
const runs = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const dir = join(root, 'packages', pkg);
  if (!existsSync(join(dir, 'test'))) continue;
  runs.push({ label: `node:${pkg}`, cwd: dir, cmd: process.execPath, args: [join(root, 'node_modules/uvu/bin.js'), 'test', '\\.test\\.ts$'], env: { NODE_OPTIONS: '--import=tsx', NO_COLOR: '1' } });
}
// Deno runs the very same core test files: Deno resolves the `.ts` imports natively and
// serves `node:` imports (child_process for the qemu/gcc oracles) itself.
const deno = existsSync(join(root, 'node_modules/deno/deno')) ? join(root, 'node_modules/deno/deno') : join(root, 'node_modules/.bin/deno');
runs.push({ label: 'deno:core', cwd: join(root, 'packages/core'), cmd: deno, args: ['run', '-A', join(root, 'node_modules/uvu/bin.js'), 'test', '\\.test\\.ts$'], env: { NO_COLOR: '1' } });
// Every public export of @rvisor/core documented (typedoc validation; CI fails on an undocumented one).
runs.push({ label: 'docs', cwd: join(root, 'packages/core'), cmd: process.execPath, args: [join(root, 'node_modules/uvu/bin.js'), 'test', 'api-docs\\.check\\.ts$'], env: { NODE_OPTIONS: '--import=tsx', NO_COLOR: '1' } });
// Packaging: size budgets of tree-shaken entry points, then the packed tarballs installed
// and used from outside; both print uvu-style Total/Passed lines.
runs.push({ label: 'size:core', cwd: root, cmd: process.execPath, args: [join(root, 'scripts/size.mjs')], env: {} });
runs.push({ label: 'pack', cwd: root, cmd: process.execPath, args: [join(root, 'scripts/pack-test.mjs')], env: {} });
// Examples: Deno scripts against dist/ and the bundle, the browser playground in Chromium.
runs.push({ label: 'examples', cwd: root, cmd: process.execPath, args: [join(root, 'node_modules/uvu/bin.js'), 'examples', '\\.test\\.mjs$'], env: { NO_COLOR: '1' } });

let passed = 0;
let failed = 0;
for (const r of runs) {
  if (only.length && !only.some((o) => r.label.includes(o))) continue;
  process.stdout.write(`\n# ${r.label}\n`);
  const { code, out } = await run(r);
  const total = num(out, /Total:\s+(\d+)/);
  const ok = num(out, /Passed:\s+(\d+)/);
  if (total === 0) {
    process.stdout.write(`# ${r.label}: ran no test (exit ${code})\n`);
    failed += 1;
    continue;
  }
  passed += ok;
  failed += total - ok;
  if (code !== 0 && total === ok) {
    // A crash outside any test (import error, unhandled rejection) still fails the run.
    process.stdout.write(`# ${r.label}: exited ${code} outside a test\n`);
    failed += 1;
  }
}
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

function num(text, re) {
  let n = 0;
  for (const m of text.matchAll(new RegExp(re, 'g'))) n += Number(m[1]);
  return n;
}

function run({ cwd, cmd, args, env }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}
