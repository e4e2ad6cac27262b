// The core must run unchanged on Node, Deno and browsers, so src/ (adapters/ aside) may
// touch only the language and web-standard globals. tsconfig's `"types": []` catches most
// slips at typecheck time; this test catches them in the test run too, and also catches
// what the compiler cannot: a bare `import 'fs'`, `require`, or a dependency imported
// outside the one module allowed to have it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Free identifiers that exist only on Node (or CommonJS). */
const NODE_GLOBALS = new Set(['process', 'Buffer', 'global', 'require', 'module', 'exports', '__dirname', '__filename', 'setImmediate', 'clearImmediate']);
const BUILTINS = new Set(builtinModules);
/** External packages core may import, and the only folder allowed to import each. */
const ALLOWED_PACKAGES: Record<string, string> = { 'cbor-x': 'snapshot/' };

interface Finding { file: string; line: number; what: string }

/** Lists Node-only API use in one source text. `file` is relative to src/ with `/` separators. */
function scan(file: string, text: string): Finding[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: Finding[] = [];
  const at = (node: ts.Node, what: string) =>
    out.push({ file, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, what });

  const checkSpecifier = (node: ts.Node, spec: string) => {
    if (spec.startsWith('.') || spec.startsWith('/')) return;
    if (spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]!)) {
      at(node, `imports Node built-in '${spec}'`);
      return;
    }
    const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
    const home = ALLOWED_PACKAGES[pkg];
    if (home === undefined) at(node, `imports package '${spec}', which core does not depend on`);
    else if (!file.startsWith(home)) at(node, `imports '${spec}' outside src/${home}`);
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      checkSpecifier(node, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) checkSpecifier(node, arg.text);
      else at(node, 'dynamic import() of a computed specifier');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      checkSpecifier(node, node.argument.literal.text);
    } else if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && isFreeReference(node)) {
      at(node, `uses Node global '${node.text}'`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** True unless the identifier is a property name, member name or declaration name. */
function isFreeReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false; // globalThis.process: deliberate feature detection
  if (ts.isQualifiedName(p) && p.right === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p)
    || ts.isMethodSignature(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p) || ts.isEnumMember(p)) && p.name === id) return false;
  if (ts.isBindingElement(p) && p.propertyName === id) return false;
  if ((ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) && p.propertyName === id) return false;
  if (ts.isLabeledStatement(p) || ts.isBreakOrContinueStatement(p)) return false;
  return true;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

const checker = suite('portability checker');

checker('flags node: imports, bare built-ins, require and Node globals', () => {
  const bad = [
    "import { readFileSync } from 'node:fs';",
    "import { EventEmitter } from 'events';",
    "export * from 'node:worker_threads';",
    "const p = await import('fs/promises');",
    "const b = Buffer.from([1]);",
    "const argv = process.argv;",
    "const x = require('zlib');",
    "type T = import('node:stream').Readable;",
    "const d = __dirname;",
  ].join('\n');
  const found = scan('cpu/x.ts', bad);
  assert.equal(found.map((f) => f.line), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

checker('ignores the words in comments, strings, property names and globalThis detection', () => {
  const good = [
    '// the gateway process owns a Buffer of bytes',
    "const msg = 'process exited';",
    'const o = { process: 1, Buffer: 2 };',
    'class Sched { process(): void {} }',
    'const n = o.process + o.Buffer;',
    "const onNode = typeof (globalThis as any).process === 'object';",
    "import { Bus } from '../memory/bus.ts';",
  ].join('\n');
  assert.equal(scan('cpu/x.ts', good), []);
});

checker('allows cbor-x only under snapshot/', () => {
  const src = "import { Encoder } from 'cbor-x';";
  assert.equal(scan('snapshot/encode.ts', src), []);
  assert.is(scan('vm/vm.ts', src).length, 1);
  assert.is(scan('vm/vm.ts', "import x from 'left-pad';").length, 1);
});

checker.run();

const core = suite('core sources');

core('src/ outside adapters/ uses no Node-only API', () => {
  const files = sourceFiles(SRC).filter((f) => !relative(SRC, f).startsWith(`adapters${sep}`));
  assert.ok(files.length > 0, 'no source file found under src/');
  const findings = files.flatMap((f) => scan(relative(SRC, f).split(sep).join('/'), readFileSync(f, 'utf8')));
  const report = findings.map((f) => `src/${f.file}:${f.line} ${f.what}`).join('\n');
  assert.is(report, '', `Node-only API in core:\n${report}`);
});

core.run();
