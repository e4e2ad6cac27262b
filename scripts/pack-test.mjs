#!/usr/bin/env node
// Installs what we would publish, the way a user gets it: builds and `pnpm pack`s each
// publishable package, installs all tarballs together into an empty temp project with npm
// (so `workspace:*` links cannot hide a missing file; third-party dependencies come from the
// registry or npm's cache), then checks each package from the outside:
//   - the tarball holds README.md, every `exports`/`bin` target and no sources or tests;
//   - every sub-path imports on Node, and its `types` resolve under `moduleResolution: nodenext`;
//   - the README's quick start (first fenced block under a "Quick start" heading, else the first
//     fenced block) runs: JavaScript on Node and Deno, shell with the installed bins on PATH;
//     a guest image it names is copied from the repository, and the first and last lines the
//     image prints under QEMU (the oracle) must appear in the quick start's output.
//
//   node scripts/pack-test.mjs [package-dir-name...] [--no-build] [--keep]
// Prints one line per check and uvu-style `Total:` / `Passed:` lines (scripts/test.mjs).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const build = !args.includes('--no-build');
const keep = args.includes('--keep');
const wanted = args.filter((a) => !a.startsWith('--'));

const results = [];
function check(name, fn) {
  try {
    fn();
    results.push({ name, ok: true });
    process.stdout.write(`  ✓ ${name}\n`);
  } catch (err) {
    results.push({ name, ok: false });
    process.stdout.write(`  ✘ ${name}\n${String(err.message ?? err).replace(/^/gm, '      ')}\n`);
  }
}
function sh(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 180_000, ...opts, env: { ...process.env, NO_COLOR: '1', ...opts.env } });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const out = (r.stdout + r.stderr).split('\n').filter((l) => !/^\s+at /.test(l)).join('\n');
    throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status}\n${out.slice(-3000)}`);
  }
  return r.stdout;
}

const packages = readdirSync(join(root, 'packages'))
  .filter((d) => existsSync(join(root, 'packages', d, 'package.json')))
  .map((d) => ({ dir: join(root, 'packages', d), name: d, pkg: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')) }))
  .filter((p) => p.pkg.private !== true && (wanted.length === 0 || wanted.includes(p.name)));
// Build dependencies first (core, then fleet, then cli): tsup's declaration build of a
// package reads the declarations of the workspace packages it imports.
const internalDeps = (p) => Object.keys({ ...p.pkg.dependencies, ...p.pkg.peerDependencies }).filter((n) => packages.some((q) => q.pkg.name === n));
const depth = (p, seen = new Set()) => (seen.has(p) ? 0 : 1 + Math.max(0, ...internalDeps(p).map((n) => depth(packages.find((q) => q.pkg.name === n), new Set([...seen, p])))));
packages.sort((a, b) => depth(a) - depth(b) || a.name.localeCompare(b.name));

const work = mkdtempSync(join(tmpdir(), 'rvisor-pack-'));
const tarDir = join(work, 'tarballs');
const app = join(work, 'app');
mkdirSync(tarDir);
mkdirSync(app);

try {
  const tarballs = new Map();
  for (const p of packages) {
    check(`${p.pkg.name}: builds and packs`, () => {
      if (build && p.pkg.scripts?.build) sh('pnpm', ['run', 'build'], { cwd: p.dir });
      if (build && p.name === 'core') sh(process.execPath, [join(root, 'node_modules/rollup/dist/bin/rollup'), '-c', join(root, 'rollup.config.mjs')], { cwd: root });
      const dest = join(tarDir, p.name);
      mkdirSync(dest);
      sh('pnpm', ['pack', '--pack-destination', dest], { cwd: p.dir });
      const tgz = readdirSync(dest).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new Error(`pnpm pack wrote no tarball into ${dest}`);
      tarballs.set(p.name, join(dest, tgz));
    });
  }

  for (const p of packages) {
    const tgz = tarballs.get(p.name);
    if (!tgz) continue;
    check(`${p.pkg.name}: tarball holds README, every exports/bin target, and no sources or tests`, () => {
      const files = new Set(sh('tar', ['-tzf', tgz]).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));
      const need = ['package.json', 'README.md', ...targets(p.pkg)];
      // Core's README promises single-file bundles (rollup.config.mjs) inside the package.
      if (p.name === 'core') need.push('dist/bundle/index.js', 'dist/bundle/index.js.map', 'dist/bundle/cpu.js', 'dist/bundle/adapters/web-worker.js');
      const missing = need.filter((f) => !files.has(f));
      const stray = [...files].filter((f) => /^(src|test)\//.test(f) || /\.test\.[cm]?[jt]s$/.test(f));
      if (missing.length || stray.length) throw new Error(`missing: ${missing.join(', ') || '-'}\nunexpected: ${stray.join(', ') || '-'}`);
      if (JSON.stringify(JSON.parse(sh('tar', ['-xzOf', tgz, 'package/package.json']))).includes('workspace:')) throw new Error('package.json still has a workspace: range');
    });
  }

  // One install for all tarballs, so @rvisor/fleet's dependency on @rvisor/core 0.1.0 is
  // satisfied by our tarball, not looked up on the registry.
  let installed = false;
  check('npm installs all tarballs into an empty project', () => {
    if (tarballs.size === 0) throw new Error('no tarball to install');
    writeFileSync(join(app, 'package.json'), JSON.stringify({
      name: 'rvisor-pack-test', private: true, type: 'module',
      // cbor-extract 2.2.3 has no prebuilt binaries on this registry (see TOOLCHAIN.md).
      overrides: { 'cbor-extract': '2.2.2' },
    }, null, 2));
    // Peer dependencies too, optional ones included: a quick start may use them (fleet's
    // embedded broker needs aedes) and a user following it installs them.
    const ours = new Set(packages.map((p) => p.pkg.name));
    const peers = packages.flatMap((p) => Object.entries(p.pkg.peerDependencies ?? {})).filter(([n]) => !ours.has(n)).map(([n, r]) => `${n}@${r}`);
    sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs.values(), ...peers], { cwd: app });
    installed = true;
  });

  for (const p of installed ? packages : []) {
    const subpaths = Object.entries(p.pkg.exports ?? {}).filter(([k]) => k !== './package.json');
    if (subpaths.length) {
      // `*-worker` sub-paths are worker entry scripts: they run inside a worker, not import.
      check(`${p.pkg.name}: every sub-path (except *-worker entry scripts) imports on Node`, () => {
        const specs = subpaths.filter(([k]) => !k.endsWith('-worker')).map(([k]) => (k === '.' ? p.pkg.name : `${p.pkg.name}/${k.slice(2)}`));
        const code = `const bad = []; for (const s of ${JSON.stringify(specs)}) { try { const m = await import(s); if (!Object.keys(m).length) bad.push(s + ': exports nothing'); } catch (e) { bad.push(s + ': ' + e.message); } } if (bad.length) { console.error(bad.join('\\n')); process.exit(1); }`;
        sh(process.execPath, ['--input-type=module', '-e', code], { cwd: app });
      });
      check(`${p.pkg.name}: every sub-path has types under moduleResolution nodenext`, () => {
        const specs = subpaths.map(([k]) => (k === '.' ? p.pkg.name : `${p.pkg.name}/${k.slice(2)}`));
        const file = join(app, `types-${p.name}.mts`);
        writeFileSync(file, specs.map((s, i) => `import * as m${i} from '${s}';\nvoid m${i};`).join('\n'));
        sh(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--module', 'nodenext',
          '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', '--types', 'node', '--typeRoots', join(root, 'node_modules/@types'), file], { cwd: app });
      });
    }
    const readme = join(app, 'node_modules', p.pkg.name, 'README.md');
    if (!existsSync(readme)) continue;
    const quick = quickStart(readFileSync(readme, 'utf8'));
    check(`${p.pkg.name}: README quick start runs (${quick?.lang === 'js' ? 'Node and Deno' : 'shell'}) and matches qemu`, () => {
      if (!quick) throw new Error('README has no fenced code block under a "Quick start" heading');
      const expected = copyImages(quick.code);
      const outputs = [];
      if (quick.lang === 'js') {
        writeFileSync(join(app, 'quickstart.mjs'), quick.code);
        outputs.push(['node', sh(process.execPath, ['quickstart.mjs'], { cwd: app })]);
        outputs.push(['deno', sh(join(root, 'node_modules/.bin/deno'), ['run', '-A', 'quickstart.mjs'], { cwd: app })]);
      } else {
        const script = quick.code.split('\n').map((l) => l.replace(/^\$ /, '')).join('\n');
        outputs.push(['sh', sh('bash', ['-euo', 'pipefail', '-c', script], { cwd: app, env: { PATH: `${join(app, 'node_modules/.bin')}:${process.env.PATH}` } })]);
      }
      for (const [how, out] of outputs) {
        for (const e of expected) if (!out.includes(e)) throw new Error(`${how}: output lacks the oracle's line ${JSON.stringify(e.slice(0, 200))}\ngot: ${out.slice(0, 1000)}`);
      }
    });
  }
} finally {
  if (keep) process.stdout.write(`  (kept ${work})\n`);
  else rmSync(work, { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length;
process.stdout.write(`\n  Total:     ${results.length}\n  Passed:    ${passed}\n`);
process.exit(passed === results.length && results.length > 0 ? 0 : 1);

/** Files a package.json points at: exports targets (every condition) and bins. */
function targets(pkg) {
  const out = new Set();
  const walk = (v) => {
    if (typeof v === 'string') out.add(v.replace(/^\.\//, ''));
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(pkg.exports);
  walk(typeof pkg.bin === 'string' ? pkg.bin : pkg.bin ?? {});
  if (pkg.main) walk(pkg.main);
  if (pkg.types) walk(pkg.types);
  return [...out].filter((f) => !f.includes('*'));
}

/**
 * The quick start: the first fenced block under a "Quick start" heading, else the README's
 * first fenced block (STYLE.md: every package README starts with one).
 */
function quickStart(md) {
  const m = /^#+ .*quick ?start.*$[\s\S]*?^```(\w*)\n([\s\S]*?)^```/im.exec(md) ?? /^```(\w*)\n([\s\S]*?)^```/m.exec(md);
  if (!m) return null;
  return { lang: /^(js|javascript|mjs)$/.test(m[1]) ? 'js' : 'sh', code: m[2] };
}

/**
 * Copies every repository file the quick start names (`examples/hello/hello.elf`, quoted or
 * not) into the project at the same relative path, and returns for each ELF image the first
 * and last line it prints under QEMU (qemu-riscv32, or qemu-system-riscv32 virt for images
 * linked at 0x8000_0000). Only those two lines are compared: the lines between may depend on
 * arguments the quick start passes.
 */
function copyImages(code) {
  const expected = [];
  const names = new Set([...code.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)*[\w.-]+\.(?:elf|bin))(?![\w/.-])/g)].map((m) => m[1]));
  for (const rel of names) {
    const src = join(root, rel);
    if (!existsSync(src)) throw new Error(`the quick start names ${rel}, which is not in the repository`);
    mkdirSync(dirname(join(app, rel)), { recursive: true });
    copyFileSync(src, join(app, rel));
    if (!rel.endsWith('.elf')) continue;
    const entry = readFileSync(src).readUInt32LE(24);
    const r = entry >= 0x8000_0000
      ? spawnSync('qemu-system-riscv32', ['-machine', 'virt', '-bios', 'none', '-kernel', src, '-display', 'none', '-serial', 'stdio', '-monitor', 'none'], { encoding: 'utf8', timeout: 30_000 })
      : spawnSync('qemu-riscv32', [src], { encoding: 'utf8', timeout: 30_000 });
    if (r.error) throw r.error;
    const lines = r.stdout.replace(/\r\n/g, '\n').split('\n').filter((l) => l.trim());
    if (lines.length) expected.push(lines[0], lines[lines.length - 1]);
  }
  return [...new Set(expected)];
}
