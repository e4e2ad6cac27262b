import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const hot = suite('hot loop');

// The loop's speed depends on V8 keeping it optimized: a deoptimization leaves it in slower
// code, and a stale shape once deoptimized it on every return (docs/ARCHITECTURE.md, "Hart").
// A child Node process runs real guests with V8's deoptimization trace; none may name hot.ts.
hot('stays optimized on the benchmark guests and a machine-profile guest (node --trace-deopt)', () => {
  const probe = fileURLToPath(new URL('./_deopt-probe.ts', import.meta.url));
  const r = spawnSync('node', ['--import=tsx', '--trace-deopt-verbose', probe], {
    encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.is(r.status, 0, r.stderr);
  const retired = Number(/probe retired (\d+)/.exec(r.stdout)?.[1] ?? 0);
  assert.ok(retired > 200_000_000, `the probe ran its guests (${retired} instructions)`);
  // The trace is on: V8 reports deoptimizations elsewhere (the harness, exec()'s first ecall).
  assert.match(r.stdout, /deoptimize at <file:/);
  const inLoop = r.stdout.split('\n').filter((l) => /deoptimize at <file:[^>]*cpu\/hot\.ts:/.test(l));
  assert.equal(inLoop, [], 'deoptimizations of the hot loop');
});

hot.run();
