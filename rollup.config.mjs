// Single-file, minified ESM bundles of @rvisor/core for browsers and Deno (no bundler, no
// node_modules on the consumer's side): one file per public sub-path, written to
// packages/core/dist/bundle/<subpath>.js (+ .map), so they ship inside the npm tarball and
// CDNs serve them as `@rvisor/core/dist/bundle/index.js`. The names mirror dist/ (no `.min`)
// so that a relative reference keeps working: adapters/web.js starts its worker from
// `new URL('./web-worker.js', import.meta.url)`, which is the bundle next to it.
// `node:` imports (the worker_threads adapter) stay external: that bundle is for Node/Deno.
//
// Built from the TypeScript sources (not tsup's output), so `pnpm bundle` needs no prior
// build; run it after `pnpm build`, because tsup's `clean` empties dist/.
// scripts/size.mjs reuses `coreResolver` and `plugins` to measure tree-shaken entry points.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodeResolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';

export const CORE_DIR = fileURLToPath(new URL('./packages/core/', import.meta.url));
const corePkg = () => JSON.parse(readFileSync(`${CORE_DIR}package.json`, 'utf8'));

/**
 * Public sub-paths of @rvisor/core, from its `exports` map, each with the source file
 * behind it: `./dist/cpu/index.js` is built from `src/cpu/index.ts`.
 * @returns {{ subpath: string, specifier: string, source: string, exists: boolean }[]}
 */
export function coreEntries() {
  const out = [];
  for (const [key, target] of Object.entries(corePkg().exports ?? {})) {
    const file = typeof target === 'string' ? target : target.import ?? target.default;
    if (typeof file !== 'string' || !file.endsWith('.js')) continue; // ./package.json
    const source = CORE_DIR + file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    const subpath = key === '.' ? 'index' : key.slice(2);
    out.push({ subpath, specifier: key === '.' ? '@rvisor/core' : `@rvisor/core/${subpath}`, source, exists: existsSync(source) });
  }
  return out;
}

/** Thrown (as a build error) when an import names a sub-path that is not published or not written yet. */
export class MissingEntry extends Error {}

/** Resolves `@rvisor/core[/sub]` through the package's `exports` map to the TypeScript source. */
export function coreResolver() {
  return {
    name: 'rvisor-core-source',
    resolveId(id) {
      if (id !== '@rvisor/core' && !id.startsWith('@rvisor/core/')) return null;
      const entry = coreEntries().find((e) => e.specifier === id);
      if (!entry) throw new MissingEntry(`${id} is not in packages/core/package.json "exports"`);
      if (!entry.exists) throw new MissingEntry(`${id} -> ${entry.source.slice(CORE_DIR.length)} does not exist`);
      return entry.source;
    },
  };
}

/** TypeScript -> ES2022, dependencies (cbor-x) resolved for browsers, then terser. */
export function plugins({ minify = true } = {}) {
  return [
    coreResolver(),
    nodeResolve({ browser: true, exportConditions: ['browser', 'import', 'default'], preferBuiltins: false, extensions: ['.ts', '.mjs', '.js'] }),
    esbuild({ target: 'es2022', include: /\.[cm]?[jt]s$/, exclude: /node_modules/, tsconfig: `${CORE_DIR}tsconfig.json` }),
    minify && terser({ module: true, ecma: 2020, compress: { passes: 2 }, format: { comments: false } }),
  ].filter(Boolean);
}

export default coreEntries()
  .filter((e) => e.exists)
  .map((e) => ({
    input: e.source,
    plugins: plugins(),
    external: (id) => id.startsWith('node:'),
    // Warnings such as circular dependencies in cbor-x are not ours to fix; errors still fail.
    onwarn(warning, warn) {
      if (warning.code === 'CIRCULAR_DEPENDENCY' && /node_modules/.test(warning.ids?.join() ?? '')) return;
      warn(warning);
    },
    output: {
      file: `${CORE_DIR}dist/bundle/${e.subpath}.js`,
      format: 'es',
      sourcemap: true,
      inlineDynamicImports: true,
    },
  }));
