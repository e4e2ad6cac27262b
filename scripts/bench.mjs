#!/usr/bin/env node
// `pnpm bench`: runs the benchmark sections (bench/<section>.mjs) and prints one
// table per section, or one JSON document with --json. A section exports
// { name, title, columns, run(opts) -> rows, note?(opts) }; a row whose `match` is false
// (output differs from the oracle) makes the whole run fail.
//
//   pnpm bench [--json] [--runs N] [--warmup N] [--only guest,guest] [--section name,name]
import { parseArgs } from 'node:util';
import { environment, table } from '../bench/harness.mjs';
import * as compiler from '../bench/compiler.mjs';
import * as fleet from '../bench/fleet.mjs';
import * as hypervisor from '../bench/hypervisor.mjs';
import * as interpreter from '../bench/interpreter.mjs';

/** In report order; a new section is one module in bench/ added here. */
const SECTIONS = [interpreter, compiler, hypervisor, fleet];

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    runs: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '200000000' },
    only: { type: 'string', default: '' },
    section: { type: 'string', default: '' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`Usage: pnpm bench [--json] [--runs N] [--warmup N] [--only guest,...] [--section name,...]

  --runs N      timed runs per guest and engine, the best is kept (default 2)
  --warmup N    instructions of each guest rvisor runs untimed first (default 200000000)
  --only        guests to run (default: every bench/guests/*.elf)
  --section     sections to run: ${SECTIONS.map((s) => s.name).join(', ')}
  --json        one JSON document on stdout instead of tables (progress stays on stderr)
`);
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`bench: --runs must be a positive integer, got '${values.runs}'\n`);
  process.exit(2);
}
const warmup = Number(values.warmup);
if (!Number.isSafeInteger(warmup) || warmup < 0) {
  process.stderr.write(`bench: --warmup must be a whole number of instructions, got '${values.warmup}'\n`);
  process.exit(2);
}
const list = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const only = list(values.only);
const wanted = list(values.section);
for (const w of wanted) {
  if (!SECTIONS.some((s) => s.name === w)) {
    process.stderr.write(`bench: unknown section '${w}' (have: ${SECTIONS.map((s) => s.name).join(', ')})\n`);
    process.exit(2);
  }
}

const log = (s) => process.stderr.write(`bench: ${s}\n`);
const env = environment();
const results = [];
let mismatches = 0;
for (const section of SECTIONS) {
  if (wanted.length && !wanted.includes(section.name)) continue;
  const rows = await section.run({ runs, warmup, only, log });
  mismatches += rows.filter((r) => r.match === false).length;
  results.push({ name: section.name, title: section.title, rows });
}

if (values.json) {
  process.stdout.write(`${JSON.stringify({ environment: env, runs, warmup, sections: results }, null, 2)}\n`);
} else {
  process.stdout.write(`${env.runtime} (V8 ${env.v8}), ${env.qemu}, ${env.cpu} x${env.cores}, ${env.date}\n`);
  for (const r of results) {
    const section = SECTIONS.find((s) => s.name === r.name);
    if (r.rows.length === 0) {
      process.stdout.write(`\n## ${r.title}\n\nskipped: no result (the reason is in the log on stderr)\n`);
      continue;
    }
    const note = section.note ? `${section.note({ runs, warmup })}\n\n` : '';
    process.stdout.write(`\n## ${r.title}\n\n${note}${table(section.columns, r.rows)}\n`);
  }
}
if (mismatches > 0) {
  process.stderr.write(`bench: ${mismatches} guest(s) printed something different from the oracle\n`);
  process.exit(1);
}
