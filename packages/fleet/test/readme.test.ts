import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const readme = suite('README quick start really runs (against the embedded broker)');

readme('the first code block runs a real gateway and shows the guest console', async () => {
  const text = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(text)![1]!;
  assert.ok(block.split('\n').filter(Boolean).length <= 12, 'quick start stays about 10 lines');
  const src = (p: string) => new URL(p, import.meta.url).pathname;
  const code = block
    .replace("'@rvisor/fleet/broker'", `'${src('../src/broker.ts')}'`)
    .replace("'@rvisor/fleet/hypervisor-host'", `'${src('../src/hypervisor-host.ts')}'`)
    .replace("'@rvisor/fleet'", `'${src('../src/index.ts')}'`)
    .replace("'examples/hello/hello.elf'", `'${src('../../../examples/hello/hello.elf')}'`)
    .replace(/process\.stdout\.write\(/g, 'out.push(');
  const dir = mkdtempSync(join(tmpdir(), 'rvisor-readme-'));
  const file = pathToFileURL(join(dir, 'quickstart.mts'));
  const printed: Uint8Array[] = [];
  (globalThis as Record<string, unknown>).out = { push: (b: Uint8Array) => printed.push(Uint8Array.from(b)) };
  writeFileSync(file, `const { out } = globalThis as any;\n${code}\nexport {};\n`);
  try {
    await import(file.href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const console = printed.map((b) => new TextDecoder().decode(b)).join('');
  // What examples/hello prints under qemu-riscv32 (checked there by the core suite).
  assert.match(console, 'Hello from an rvisor guest!\nargc = 1\nfletcher32 of 4096 generated words = 0x82f5a61f\n');
});

readme.run();
