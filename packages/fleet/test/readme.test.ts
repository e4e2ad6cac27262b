import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeHost } from './_fake-host.ts';

const readme = suite('README quick start really runs (against the embedded broker)');

readme('the first code block runs with a host and an image supplied', async () => {
  const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(text)![1]!;
  assert.ok(block.split('\n').filter(Boolean).length <= 12, 'quick start stays about 10 lines');
  const src = block
    .replace("'@rvisor/fleet/broker'", `'${new URL('../src/broker.ts', import.meta.url).pathname}'`)
    .replace("'@rvisor/fleet'", `'${new URL('../src/index.ts', import.meta.url).pathname}'`)
    .replace(/console\.log\(/g, 'out.push(');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-readme-'));
  const file = pathToFileURL(join(dir, 'quickstart.mts'));
  const g = globalThis as Record<string, unknown>;
  const host = new FakeHost();
  g.myGatewayHost = host;
  g.elfBytes = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
  const printed: unknown[] = [];
  // Snapshot what was printed: the views are live objects that change later.
  g.out = { push: (x: unknown) => printed.push(JSON.parse(JSON.stringify(x))) };
  writeFileSync(file, `const { myGatewayHost, elfBytes, out } = globalThis as any;\n${src}\nexport {};\n`);
  try {
    await import(file.href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.is(host.parts.get('blink')?.state, 'running');
  const views = printed[0] as { gw: string; online: boolean }[];
  assert.equal(views.map((v) => [v.gw, v.online]), [['gw-1', true]]);
});

readme.run();
