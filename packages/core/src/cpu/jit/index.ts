/**
 * `@rvisor/core/cpu/jit`: the optional compiling tier. Import it only where
 * generated code is allowed; `attachCompiler(hart)` returns null (and the hart
 * keeps interpreting) where `new Function` is forbidden (a strict CSP).
 */
export { attachCompiler, Compiler, compilerSupported } from './compiler.ts';
export type { CompilerOptions } from './compiler.ts';
