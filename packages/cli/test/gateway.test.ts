import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `rvisor up | snapshot | restore` on the committed example gateway (examples/gateway).
// The built CLI is what runs; `pnpm build` (or cli.test.ts) builds it first.

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const rootDir = join(pkgDir, '../..');
const cli = join(pkgDir, 'dist/main.js');
const gatewayFile = join(rootDir, 'examples/gateway/gateway.json');
const tmp = mkdtempSync(join(tmpdir(), 'rvisor-gw-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
const env = { ...process.env, NODE_OPTIONS: '' };

function rvisor(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: tmp, env, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const up = suite('rvisor up');

up('runs the example gateway to the end with prefixed consoles and exit 0', () => {
  const r = rvisor('up', gatewayFile);
  assert.is(r.status, 0, r.stderr);
  const logger = r.stdout.split('\n').filter((l) => l.startsWith('logger | logger: t='));
  assert.is(logger.length, 40);
  assert.match(r.stdout, 'sensor | sensor: sent 40 readings, 0 dropped');
  assert.match(r.stderr, 'rvisor: logger running -> stopped (exited: exit code 0)');
});

up('two runs print the same consoles and --json the same stats', () => {
  const a = rvisor('up', '--json', gatewayFile);
  const b = rvisor('up', '--json', gatewayFile);
  assert.is(a.status, 0, a.stderr);
  assert.is(b.status, 0, b.stderr);
  assert.is(a.stderr.replace(/\d+ ms/g, ''), b.stderr.replace(/\d+ ms/g, ''));
  const ja = JSON.parse(a.stdout);
  const jb = JSON.parse(b.stdout);
  delete ja.wallMs;
  delete jb.wallMs;
  assert.equal(ja, jb);
  assert.is(ja.reason, 'stopped');
  assert.is(ja.stats.partitions.logger.state, 'stopped');
});

up('--frames stops after that many major frames', () => {
  const r = rvisor('up', '--json', '--frames', '5', gatewayFile);
  assert.is(r.status, 0);
  const j = JSON.parse(r.stdout);
  assert.is(j.frames, 5);
  assert.is(j.reason, 'frames');
  assert.is(j.stats.partitions.sensor.windows, 5);
});

up('a bad field is reported with its path, code and exit 2', () => {
  const cases: [unknown, RegExp][] = [
    [{ partitions: [{ name: 'a', image: 'x.elf', ram: '12X' }], schedules: [] }, /gateway\.partitions\[0\]\.ram: "12X" is not a size .*\[GATEWAY_FIELD\]/],
    [{ partitions: [{ name: 'a', image: 'x.elf', colour: 'red' }], schedules: [] }, /gateway\.partitions\[0\]\.colour: unknown field/],
    [{ partitions: [], schedules: [] }, /gateway\.partitions: must list at least one partition/],
    [
      {
        partitions: [{ name: 'a', image: join(rootDir, 'examples/hello/hello.elf') }],
        schedules: [{ name: 'm', majorFrame: 100, windows: [{ partition: 'b', offset: 0, duration: 10 }] }],
      },
      /gateway\.schedules: .*\[SCHEDULE_UNKNOWN_PARTITION\]/,
    ],
    [{ partitions: [{ name: 'a', image: 'missing.elf' }], schedules: [{ name: 'm', majorFrame: 1, windows: [] }] }, /gateway\.partitions\[0\]\.image: cannot read image .*missing\.elf.*\[GATEWAY_IMAGE\]/],
  ];
  cases.forEach(([json, expected], i) => {
    const file = join(tmp, `bad${i}.json`);
    writeFileSync(file, JSON.stringify(json));
    const r = rvisor('up', file);
    assert.is(r.status, 2, `case ${i}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  });
  writeFileSync(join(tmp, 'notjson.json'), '{ pool: ');
  const r = rvisor('up', join(tmp, 'notjson.json'));
  assert.is(r.status, 2);
  assert.match(r.stderr, /\[GATEWAY_JSON\]/);
});

up('a non-ELF image is refused with the ELF error code, naming the partition', () => {
  const dir = mkdtempSync(join(tmp, 'img-'));
  copyFileSync(gatewayFile, join(dir, 'gateway.json'));
  for (const n of ['sensor', 'filter']) copyFileSync(join(rootDir, 'examples/gateway', `${n}.elf`), join(dir, `${n}.elf`));
  writeFileSync(join(dir, 'logger.elf'), 'not an elf at all');
  const r = rvisor('up', join(dir, 'gateway.json'));
  assert.is(r.status, 2);
  assert.match(r.stderr, /gateway\.partitions\[2\]: .*\[ELF_NOT_ELF\]/);
});

up.run();

const snap = suite('rvisor snapshot and restore');

snap('a snapshot after N frames, restored, continues exactly where the run stopped', () => {
  const whole = rvisor('up', '-q', gatewayFile);
  for (const frames of ['3', '17', '30']) {
    const file = join(tmp, `g${frames}.snap`);
    const first = rvisor('snapshot', '-q', '--frames', frames, '-o', file, gatewayFile);
    assert.is(first.status, 0, first.stderr);
    const rest = rvisor('restore', '-q', file);
    assert.is(rest.status, 0, rest.stderr);
    assert.is(first.stdout + rest.stdout, whole.stdout, `after ${frames} frames`);
  }
});

snap('up --save writes a snapshot that restore accepts', () => {
  const file = join(tmp, 'saved.snap');
  const r = rvisor('up', '-q', '--frames', '10', '--save', file, gatewayFile);
  assert.is(r.status, 0);
  const again = rvisor('restore', '--json', '-q', file);
  assert.is(again.status, 0);
  assert.is(JSON.parse(again.stdout).stats.frames, 41);
});

snap('corrupt and truncated snapshots are refused with their code', () => {
  const file = join(tmp, 'ok.snap');
  rvisor('snapshot', '-q', '--frames', '2', '-o', file, gatewayFile);
  const bytes = readFileSync(file);
  const truncated = join(tmp, 'truncated.snap');
  writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  const corrupt = join(tmp, 'corrupt.snap');
  const flipped = Buffer.from(bytes);
  flipped[flipped.length >> 1]! ^= 0xff; // inside the body, which the digest covers
  writeFileSync(corrupt, flipped);
  for (const [f, code] of [
    [truncated, 'SNAPSHOT_TRUNCATED'],
    [corrupt, 'SNAPSHOT_CHECKSUM'],
    [gatewayFile, 'SNAPSHOT_NOT_CBOR'],
  ] as const) {
    const r = rvisor('restore', f);
    assert.is(r.status, 2, f);
    assert.match(r.stderr, `[${code}]`);
  }
});

snap('every gateway command has --help and rejects unknown flags', () => {
  for (const c of ['up', 'snapshot', 'restore']) {
    const h = rvisor(c, '--help');
    assert.is(h.status, 0);
    assert.match(h.stdout, `Usage: rvisor ${c}`);
    const bad = rvisor(c, '--frobnicate', gatewayFile);
    assert.is(bad.status, 2);
    assert.match(bad.stderr, '[CLI_USAGE]');
  }
});

snap.run();
