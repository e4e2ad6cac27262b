/**
 * Entry of the module Web Worker started by `createWorkerHypervisor()` in
 * web.ts (Deno, browsers): serves one hypervisor on the worker's scope.
 */
import { serve } from './_serve.ts';

// Core compiles against the DOM library, where `self` is a Window; in a worker it is the worker's scope.
const scope = globalThis as unknown as {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent) => void): void;
  close(): void;
};
serve({
  postMessage: (m, transfer) => scope.postMessage(m, transfer ?? []),
  onMessage: (l) => scope.addEventListener('message', (e) => l(e.data)),
  close: () => scope.close(),
});
