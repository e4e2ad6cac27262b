#!/usr/bin/env node
// What an embedder pays for: bundles small entry points that import from @rvisor/core's
// public sub-paths, lets rollup tree-shake them, minifies with terser and measures
// min+gzip (level 9). Fails when an entry is over its budget or cannot be built.
//
//   node scripts/size.mjs          table + uvu-style `Total:` / `Passed:` lines (scripts/test.mjs)
//   node scripts/size.mjs --json   JSON array on stdout
//
// An entry whose sub-path or export does not exist is reported as `missing` and fails:
// the budgets are part of the package's contract.
import { gzipSync } from 'node:zlib';
import { rollup } from 'rollup';
import { coreEntries, MissingEntry, plugins } from '../rollup.config.mjs';

const KiB = 1024;

/** name -> { budget (bytes of min+gzip) | undefined, source of the entry module } */
const ENTRIES = [
  { name: 'hart', budget: 12 * KiB, code: `export { Hart } from '@rvisor/core/cpu';` },
  {
    name: 'hart+partitioner+scheduler',
    budget: 20 * KiB,
    code: [
      `export { Hart } from '@rvisor/core/cpu';`,
      `export { Partitioner } from '@rvisor/core/memory';`,
      // The scheduler is the schedule set (validation + the cyclic walk through windows);
      // the run loop that drives VMs through it lives in the hypervisor, measured below.
      `export { ScheduleSet } from '@rvisor/core/schedule';`,
    ].join('\n'),
  },
  { name: 'vm', code: `export { VirtualMachine } from '@rvisor/core/vm';` },
  { name: 'hypervisor', code: `export { Hypervisor } from '@rvisor/core/hypervisor';` },
  {
    name: 'everything',
    // Namespace imports keep every export alive (a plain `export *` from several modules
    // would drop names two modules share).
    // Everything a browser can use: worker entry scripts and the worker_threads adapter are
    // separate programs / Node-only, not part of what a page bundles.
    code: () => {
      const subs = coreEntries().filter((e) => !/-worker$|^adapters\/node/.test(e.subpath));
      return subs.map((e, i) => `import * as m${i} from '${e.specifier}';`).join('\n')
        + `\nexport { ${subs.map((_, i) => `m${i}`).join(', ')} };`;
    },
  },
];

const ENTRY_ID = '\0size-entry';

async function measure(entry) {
  const code = typeof entry.code === 'function' ? entry.code() : entry.code;
  const virtual = { name: 'size-entry', resolveId: (id) => (id === ENTRY_ID ? id : null), load: (id) => (id === ENTRY_ID ? code : null) };
  let bundle;
  try {
    bundle = await rollup({
      input: ENTRY_ID,
      plugins: [virtual, ...plugins()],
      treeshake: { moduleSideEffects: false },
      onwarn(w) { if (w.code === 'MISSING_EXPORT') throw Object.assign(new MissingEntry(w.message), { code: w.code }); },
    });
    const { output } = await bundle.generate({ format: 'es', inlineDynamicImports: true });
    const js = output[0].code;
    const gzip = gzipSync(js, { level: 9 }).length;
    const over = entry.budget !== undefined && gzip > entry.budget;
    return { name: entry.name, min: js.length, gzip, budget: entry.budget ?? null, status: over ? 'over' : 'ok' };
  } catch (err) {
    const missing = err instanceof MissingEntry || err.code === 'MISSING_EXPORT' || err.cause instanceof MissingEntry;
    return { name: entry.name, min: null, gzip: null, budget: entry.budget ?? null, status: missing ? 'missing' : 'error', detail: String(err.message ?? err).split('\n')[0] };
  } finally {
    await bundle?.close();
  }
}

const results = [];
for (const e of ENTRIES) results.push(await measure(e));
const failed = results.filter((r) => r.status !== 'ok');

if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} else {
  const kib = (n) => (n === null ? '-' : `${(n / KiB).toFixed(2)} KiB`);
  const rows = [['entry', 'min', 'min+gzip', 'budget', 'status'],
    ...results.map((r) => [r.name, kib(r.min), kib(r.gzip), r.budget === null ? '-' : kib(r.budget), r.detail ? `${r.status}: ${r.detail}` : r.status])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) process.stdout.write(`${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')}\n`);
  // uvu-style totals so scripts/test.mjs counts one test per entry.
  process.stdout.write(`\n  Total:     ${results.length}\n  Passed:    ${results.length - failed.length}\n`);
}
process.exit(failed.length ? 1 : 0);
