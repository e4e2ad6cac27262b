/**
 * The worker's side, free of any runtime API: given a message port, build a
 * Hypervisor from the first (init) message and serve calls on it.
 *
 * Calls run in arrival order. `run()` is the one asynchronous call: it
 * yields to the worker's event loop after every window, so halt(), stats(),
 * send() and the rest are served while it runs. A synchronous call
 * (runFrames) holds the worker, never the caller.
 */
import { RvisorError } from '../errors.ts';
import { Hypervisor } from '../hypervisor/hypervisor.ts';
import type { Partition } from '../hypervisor/partition.ts';
import {
  EVENT_TYPES, isRequest, pack, serializeError, WORKER_PROTOCOL, WORKER_PROTOCOL_VERSION, WORKER_UNKNOWN_METHOD,
} from './_protocol.ts';
import type { CallRequest, InitRequest, MessagePortLike, PartitionInfo, Response, WorkerApi, WorkerHypervisorOptions } from './_protocol.ts';

type Handlers = { [K in keyof WorkerApi]: (hv: Hypervisor, args: Parameters<WorkerApi[K]>) => ReturnType<WorkerApi[K]> };

const handlers: Handlers = {
  createPartition: (hv, [config, share]) => info(hv.createPartition(config, share)),
  destroyPartition: (hv, [name]) => hv.destroyPartition(name),
  partition: (hv, [name]) => {
    const p = hv.partition(name);
    return p === undefined ? undefined : info(p);
  },
  partitions: (hv) => hv.partitions().map(info),
  start: (hv, [name]) => hv.start(name),
  pause: (hv, [name]) => hv.pause(name),
  resume: (hv, [name]) => hv.resume(name),
  stop: (hv, [name]) => hv.stop(name),
  restart: (hv, [name]) => hv.restart(name),
  addWindow: (hv, [spec]) => hv.addWindow(spec),
  addChannel: (hv, [config]) => hv.addChannel(config),
  channelId: (hv, [name]) => hv.channelId(name),
  send: (hv, [channel, message]) => hv.send(channel, message),
  receive: (hv, [channel]) => hv.receive(channel),
  read: (hv, [channel]) => hv.read(channel),
  setSchedules: (hv, [configs, initial]) => hv.setSchedules(configs, initial),
  switchSchedule: (hv, [name]) => hv.switchSchedule(name),
  runFrames: (hv, [n]) => hv.runFrames(n),
  run: (hv, [options]) => hv.run(options),
  halt: (hv) => hv.halt(),
  stats: (hv) => hv.stats,
  now: (hv) => hv.now(),
  checkpoint: (hv, [name]) => hv.checkpoint(name),
  snapshot: (hv, [name]) => hv.snapshot(name),
  restore: async (hv, [doc, options]) => info(await hv.restore(doc, options)),
  clone: async (hv, [name, newName]) => info(await hv.clone(name, newName)),
  snapshotGateway: (hv) => hv.snapshotGateway(),
};

function info(p: Partition): PartitionInfo {
  return { name: p.name, id: p.id, state: p.state, stats: { ...p.stats }, fault: p.fault, exitCode: p.exitCode };
}

/** Serve one hypervisor on `port` until the worker is terminated. */
export function serve(port: MessagePortLike): void {
  let hv: Hypervisor | undefined;

  const post = (m: Response): void => {
    const transfer: ArrayBuffer[] = [];
    const packed = pack(m, transfer);
    port.postMessage(packed, transfer);
  };
  const fail = (id: number, e: unknown): void => post({ t: 'error', id, error: serializeError(e) });

  let initialising = false;
  const init = async (m: InitRequest): Promise<void> => {
    if (hv !== undefined || initialising) throw new RvisorError(WORKER_PROTOCOL, 'the worker hypervisor is already initialised');
    if (m.version !== WORKER_PROTOCOL_VERSION) {
      throw new RvisorError(WORKER_PROTOCOL, `worker speaks protocol ${WORKER_PROTOCOL_VERSION}, caller sent ${String(m.version)}`);
    }
    for (const type of m.events) {
      if (!EVENT_TYPES.includes(type)) throw new RvisorError(WORKER_PROTOCOL, `unknown event type ${String(type)}`);
    }
    initialising = true;
    try {
      const created = m.gateway === undefined
        ? new Hypervisor(m.options as WorkerHypervisorOptions)
        : await Hypervisor.restoreGateway(m.gateway, m.options);
      for (const type of m.events) created.events.on(type, (payload) => post({ t: 'event', type, payload }));
      const stop = m.stop;
      if (stop !== undefined && port.close !== undefined) {
        const close = port.close;
        created.events.on('frame', () => {
          if (Atomics.load(stop, 0) !== 0) close();
        });
      }
      hv = created;
    } finally {
      initialising = false;
    }
  };

  const call = (m: CallRequest): void => {
    if (hv === undefined) throw new RvisorError(WORKER_PROTOCOL, `call ${m.method} before init`);
    const handler = Object.hasOwn(handlers, m.method) ? handlers[m.method as keyof Handlers] : undefined;
    if (handler === undefined) throw new RvisorError(WORKER_UNKNOWN_METHOD, `the worker hypervisor has no method ${String(m.method)}`);
    // Arguments are checked by the Hypervisor itself, as for an in-process caller.
    const value = (handler as (hv: Hypervisor, args: unknown[]) => unknown)(hv, Array.isArray(m.args) ? m.args : []);
    if (value instanceof Promise) {
      value.then((v) => post({ t: 'result', id: m.id, value: v }), (e) => fail(m.id, e));
    } else {
      post({ t: 'result', id: m.id, value });
    }
  };

  port.onMessage((m) => {
    if (!isRequest(m)) return;
    const id = m.t === 'init' ? 0 : m.id;
    try {
      if (m.t === 'init') {
        init(m).then(() => post({ t: 'result', id, value: undefined }), (e) => fail(id, e));
      } else {
        call(m);
      }
    } catch (e) {
      fail(id, e);
    }
  });
}
