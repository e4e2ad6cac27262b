/**
 * A tiny typed event emitter. Node's EventEmitter is not available in the
 * core (browsers, Deno), and a typed map of event name -> payload lets the
 * compiler check both `on()` and `emit()` (mqtt.js types its events the same
 * way).
 *
 * Listener errors never interrupt delivery: the state an event describes has
 * already changed when it is emitted, so every listener must see it. Errors go
 * to `onListenerError` when one is given; otherwise the first one is rethrown
 * after all listeners ran.
 */

/** A subscriber to one event type; receives the event's payload. */
export type Listener<T> = (payload: T) => void;

/** A map from event name to payload type, e.g. `{ transition: LifecycleEvent }`. */
export type EventMap = { [type: string]: unknown };

/** Options for {@link Emitter}'s constructor. */
export interface EmitterOptions {
  /** Receives errors thrown by listeners instead of `emit()` rethrowing them. */
  onListenerError?: (error: unknown, type: string) => void;
}

/** A typed, synchronous event emitter whose deliveries are never interrupted by a throwing listener. */
export class Emitter<M extends EventMap> {
  // Arrays are replaced, never mutated, so a listener that subscribes or
  // unsubscribes during emit() does not disturb the delivery in progress.
  private listeners: { [K in keyof M]?: ReadonlyArray<Listener<M[K]>> } = {};
  private readonly onListenerError: ((error: unknown, type: string) => void) | undefined;
  /**
   * @internal Changes with every subscription and unsubscription, so a hot
   * path can cache listenerCount() answers and re-ask only when it moved.
   */
  revision = 0;

  /** Create an emitter with no listeners. */
  constructor(options: EmitterOptions = {}) {
    this.onListenerError = options.onListenerError;
  }

  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof M & string>(type: K, listener: Listener<M[K]>): () => void {
    this.listeners[type] = [...(this.listeners[type] ?? []), listener];
    this.revision++;
    return () => this.off(type, listener);
  }

  /** Subscribe for the next event of `type` only. */
  once<K extends keyof M & string>(type: K, listener: Listener<M[K]>): () => void {
    const off = this.on(type, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Remove one subscription of `listener` (the latest, if it was added twice). */
  off<K extends keyof M & string>(type: K, listener: Listener<M[K]>): void {
    const list = this.listeners[type];
    if (list === undefined) return;
    const i = list.lastIndexOf(listener);
    if (i < 0) return;
    const next = list.slice();
    next.splice(i, 1);
    if (next.length === 0) delete this.listeners[type];
    else this.listeners[type] = next;
    this.revision++;
  }

  /** Number of listeners currently subscribed to `type`. */
  listenerCount(type: keyof M & string): number {
    return this.listeners[type]?.length ?? 0;
  }

  /**
   * Deliver `payload` to every listener of `type`, in subscription order.
   * @throws the first listener error, after all listeners ran, unless `onListenerError` was given.
   */
  emit<K extends keyof M & string>(type: K, payload: M[K]): void {
    const list = this.listeners[type];
    if (list === undefined) return;
    let failed = false;
    let first: unknown;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(payload);
      } catch (error) {
        if (this.onListenerError !== undefined) {
          this.onListenerError(error, type);
        } else if (!failed) {
          failed = true;
          first = error;
        }
      }
    }
    if (failed) throw first;
  }
}
