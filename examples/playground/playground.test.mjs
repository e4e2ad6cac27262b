// Builds the playground with Vite, serves the build on loopback, drives it with headless
// Chromium (playwright-core + Debian's /usr/bin/chromium) and compares the guest's console
// with the same image under QEMU (the oracle). Screenshots go to a temp dir, or to
// $PLAYGROUND_SCREENSHOT_DIR. Run: node ../../node_modules/uvu/bin.js . 'playground\.test\.mjs$'
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import { build } from 'vite';
import bundleConfigs from '../../rollup.config.mjs';
import { chromium } from 'playwright-core';
import { expectedAverages } from '../gateway/expected.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const examples = join(here, '..');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.elf': 'application/octet-stream' };

const work = mkdtempSync(join(tmpdir(), 'rvisor-playground-'));
const shots = process.env.PLAYGROUND_SCREENSHOT_DIR ?? join(work, 'screenshots');
mkdirSync(shots, { recursive: true });

/** Serves `dir` on 127.0.0.1 with an OS-chosen port. */
function serve(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function qemu(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return r.stdout.replace(/\r\n/g, '\n');
}

const ctx = {};
const test = suite('playground in headless chromium', ctx);

test.before(async () => {
  const outDir = join(work, 'dist');
  await build({ configFile: join(here, 'vite.config.mjs'), logLevel: 'error', build: { outDir, emptyOutDir: true } });
  ctx.server = await serve(outDir);
  ctx.url = `http://127.0.0.1:${ctx.server.address().port}/`;
  ctx.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
});

test.after(async () => {
  await ctx.browser?.close();
  await new Promise((r) => (ctx.server ? ctx.server.close(r) : r()));
  if (!process.env.PLAYGROUND_SCREENSHOT_DIR) process.stdout.write(`\n  screenshots: ${shots}\n`);
});

/** Opens the page, runs `guest` to completion, returns { state, console, exit, errors }. */
async function runGuest(guest, shot) {
  const page = await ctx.browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`${ctx.url}?guest=${encodeURIComponent(guest)}`);
  assert.is(await page.locator('#guest').inputValue(), guest, `${guest} is not offered in the guest list`);
  await page.click('#run');
  await page.waitForSelector('body[data-state="exited"], body[data-state="faulted"], body[data-state="error"]', { state: 'attached', timeout: 30_000 });
  const result = {
    state: await page.getAttribute('body', 'data-state'),
    console: await page.locator('#console').textContent(),
    exit: await page.locator('#exit').textContent(),
    fault: await page.locator('#fault').textContent(),
    instret: Number((await page.locator('#instret').textContent()).replace(/,/g, '')),
    errors,
  };
  await page.screenshot({ path: join(shots, shot), fullPage: true });
  await page.close();
  return result;
}

test('the app-profile hello guest prints what qemu-riscv32 prints and exits 0', async () => {
  const r = await runGuest('hello/hello.elf', 'hello-app.png');
  assert.equal(r.errors, []);
  assert.is(r.state, 'exited', `state ${r.state}, fault ${r.fault}`);
  assert.is(r.exit, '0');
  const expected = qemu('qemu-riscv32', [join(examples, 'hello/hello.elf')]);
  assert.ok(expected.includes('Hello'), 'the oracle printed no greeting');
  assert.is(r.console, expected);
  assert.ok(r.instret > 10_000, `only ${r.instret} instructions counted`);
});

test('the machine-profile hello guest prints what qemu-system-riscv32 virt prints', async () => {
  const elf = join(examples, 'hello/hello-machine.elf');
  if (!existsSync(elf)) throw new Error('examples/hello/hello-machine.elf is missing');
  const r = await runGuest('hello/hello-machine.elf', 'hello-machine.png');
  assert.equal(r.errors, []);
  assert.is(r.state, 'exited', `state ${r.state}, fault ${r.fault}`);
  const expected = qemu('qemu-system-riscv32', ['-machine', 'virt', '-bios', 'none', '-kernel', elf, '-display', 'none', '-serial', 'stdio', '-monitor', 'none']);
  assert.is(r.console.replace(/\r\n/g, '\n'), expected);
});

test('the gateway view runs three partitions on the schedule and draws the timeline', async () => {
  const page = await ctx.browser.newPage({ viewport: { width: 1100, height: 1400 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(ctx.url);
  // The single-VM view first, so the screenshot shows both views in use.
  await page.click('#run');
  await page.waitForSelector('body[data-state="exited"]', { state: 'attached', timeout: 30_000 });
  await page.click('#gw-run');
  await page.waitForSelector('body[data-gateway="done"], body[data-gateway="frame limit"]', { state: 'attached', timeout: 30_000 });
  assert.equal(errors, []);
  assert.is(await page.getAttribute('body', 'data-gateway'), 'done');
  const logger = await page.locator('#gw-console-logger').textContent();
  const logged = logger.split('\n').filter((l) => l.includes(' avg ')).map((l) => l.replace(/^.*(#\d+.*)$/, '$1'));
  assert.equal(logged, expectedAverages());
  assert.match(await page.locator('#gw-console-sensor').textContent(), 'sent 40 readings, 0 dropped');
  // Every partition appears in the timeline, and some window shows work done.
  for (const p of ['sensor', 'filter', 'logger']) {
    assert.ok(await page.locator(`#gw-timeline rect[data-partition="${p}"]`).count() > 0, `no ${p} window drawn`);
  }
  const widths = await page.locator('#gw-timeline rect[data-partition]').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('width'))));
  assert.ok(widths.some((w) => w > 0), 'no window shows any instructions used');
  await page.screenshot({ path: join(shots, 'gateway.png'), fullPage: true });
  await page.close();
});

/** Builds the bundles these tests load, with rollup.config.mjs's options and names, into `dir` once. */
async function bundles(dir) {
  if (ctx.bundles) return ctx.bundles;
  mkdirSync(dir, { recursive: true });
  const wanted = ['index.js', 'adapters/web.js', 'adapters/web-worker.js'];
  for (const config of bundleConfigs) {
    const rel = config.output.file.slice(config.output.file.indexOf('/dist/bundle/') + '/dist/bundle/'.length);
    if (!wanted.includes(rel)) continue;
    const b = await rollup({ input: config.input, plugins: config.plugins, external: config.external, onwarn: config.onwarn });
    await b.write({ ...config.output, file: join(dir, rel) });
    await b.close();
  }
  for (const f of ['hello/hello.elf', 'gateway/sensor.elf', 'gateway/filter.elf', 'gateway/logger.elf']) copyFileSync(join(examples, f), join(dir, f.split('/')[1]));
  ctx.bundles = dir;
  return dir;
}

/** Serves `dir`, opens `page.html` there, waits for body[data-done]; returns { done, out, errors }. */
async function openBundlePage(dir, html) {
  writeFileSync(join(dir, 'page.html'), `<!doctype html><link rel="icon" href="data:,"><pre id="out"></pre>
  <script>addEventListener('error', (e) => { document.body.dataset.done = 'error: ' + e.message; });
  addEventListener('unhandledrejection', (e) => { document.body.dataset.done = 'error: ' + e.reason; });</script>
  <script type="module">${html}</script>`);
  const server = await serve(dir);
  try {
    const page = await ctx.browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`http://127.0.0.1:${server.address().port}/page.html`);
    await page.waitForSelector('body[data-done]', { state: 'attached', timeout: 30_000 });
    const r = { done: await page.getAttribute('body', 'data-done'), out: await page.locator('#out').textContent(), errors };
    await page.close();
    return r;
  } finally {
    await new Promise((r) => server.close(r));
  }
}

test('the single-file bundle (rollup.config.mjs) runs a guest in a page without a bundler', async () => {
  const dir = await bundles(join(work, 'bundle'));
  const r = await openBundlePage(dir, `
    import { VirtualMachine } from './index.js';
    const image = new Uint8Array(await (await fetch('./hello.elf')).arrayBuffer());
    let text = '';
    const dec = new TextDecoder();
    const vm = new VirtualMachine({ image, argv: ['hello.elf', 'from', 'bundle'], onConsole: (b) => { text += dec.decode(b, { stream: true }); } });
    const r = vm.runToEnd();
    document.getElementById('out').textContent = text;
    document.body.dataset.done = r.reason + ':' + vm.exitCode;`);
  assert.equal(r.errors, []);
  assert.is(r.done, 'exit:0');
  assert.is(r.out, qemu('qemu-riscv32', [join(examples, 'hello/hello.elf'), 'from', 'bundle']));
});

test('the bundled web adapter runs the gateway in a module Web Worker', async () => {
  const dir = await bundles(join(work, 'bundle'));
  // adapters/web.js finds adapters/web-worker.js next to itself (no workerUrl given).
  const r = await openBundlePage(dir, `
    import { createWorkerHypervisor } from './adapters/web.js';
    const load = async (n) => new Uint8Array(await (await fetch('./' + n + '.elf')).arrayBuffer());
    const hv = await createWorkerHypervisor({ poolSize: 4 << 20 });
    const out = {};
    const dec = new TextDecoder();
    hv.events.on('console', (e) => { out[e.partition] = (out[e.partition] ?? '') + dec.decode(e.bytes); });
    for (const n of ['sensor', 'filter', 'logger']) await hv.createPartition({ name: n, image: await load(n), ramSize: 256 << 10 });
    await hv.addChannel({ name: 'readings', kind: 'queuing', senders: ['sensor'], receivers: ['filter'], maxMessageSize: 8, depth: 8 });
    await hv.addChannel({ name: 'averages', kind: 'queuing', senders: ['filter'], receivers: ['logger'], maxMessageSize: 8, depth: 8 });
    await hv.setSchedules([{ name: 'main', majorFrame: 1_000_000, windows: [
      { partition: 'sensor', offset: 0, duration: 200_000 },
      { partition: 'filter', offset: 200_000, duration: 200_000 },
      { partition: 'logger', offset: 400_000, duration: 300_000 } ] }]);
    for (const n of ['sensor', 'filter', 'logger']) await hv.start(n);
    await hv.runFrames(60);
    await hv.terminate();
    document.getElementById('out').textContent = out.logger ?? '';
    document.body.dataset.done = 'ok';`);
  assert.equal(r.errors, []);
  assert.is(r.done, 'ok');
  const logged = r.out.split('\n').filter((l) => l.includes(' avg ')).map((l) => l.replace(/^.*(#\d+.*)$/, '$1'));
  assert.equal(logged, expectedAverages());
});

test.run();

process.on('exit', () => {
  for (const d of ['dist', 'bundle']) rmSync(join(work, d), { recursive: true, force: true });
});
