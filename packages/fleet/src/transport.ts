import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { FLEET_NOT_CONNECTED, fleetError } from './protocol/errors.ts';

/*
 * A thin layer over mqtt.js that the agent and the controller share: it fixes
 * the options the protocol depends on (QoS 1, binary payloads, resubscribe
 * after reconnect) and hides the MQTT 3.1.1 / 5 difference behind optional
 * `responseTopic` / `correlationData` fields.
 */

export interface Will {
  topic: string;
  payload: Uint8Array;
  qos?: 0 | 1;
  retain?: boolean;
}

export interface TransportOptions {
  /** `mqtt://127.0.0.1:1883`, `mqtts://...`, `ws://...` */
  url: string;
  clientId: string;
  /** 4 = MQTT 3.1.1 (default, what aedes speaks), 5 = MQTT 5. */
  protocolVersion?: 4 | 5;
  will?: Will;
  keepaliveSeconds?: number;
  /** ms between reconnect attempts; 0 disables reconnecting. Default 1000. */
  reconnectPeriod?: number;
  connectTimeout?: number;
  username?: string;
  password?: string;
  /** TLS for `mqtts://` and `wss://` URLs (passed to Node's `tls.connect` by mqtt.js). */
  tls?: TlsOptions;
}

/** PEM text or bytes, as Node's `tls.connect` takes them. */
export type Pem = string | Uint8Array;

export interface TlsOptions {
  /** Trusted CA certificate(s) for the broker's certificate; default: Node's bundled roots. */
  ca?: Pem | Pem[];
  /** Client certificate and its private key, for brokers that require them (`require_certificate true`). */
  cert?: Pem;
  key?: Pem;
  /** `false` accepts any broker certificate (testing only). Default true. */
  rejectUnauthorized?: boolean;
  /** Name the broker certificate must carry (SNI too); default: the URL's host. */
  servername?: string;
}

export interface Incoming {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
  /** MQTT 5 only. */
  responseTopic?: string;
  correlationData?: Uint8Array;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
  responseTopic?: string;
  correlationData?: Uint8Array;
}

export class Transport {
  readonly client: MqttClient;
  readonly protocolVersion: 4 | 5;
  readonly #messageListeners = new Set<(m: Incoming) => void>();
  readonly #connectListeners = new Set<() => void>();
  readonly #closeListeners = new Set<() => void>();
  #errorListener: ((err: unknown) => void) | undefined;

  private constructor(client: MqttClient, protocolVersion: 4 | 5) {
    this.client = client;
    this.protocolVersion = protocolVersion;
    client.on('message', (topic, payload, packet) => {
      const props = packet.properties;
      const m: Incoming = { topic, payload, retain: packet.retain };
      if (props?.responseTopic) m.responseTopic = props.responseTopic;
      if (props?.correlationData) m.correlationData = props.correlationData;
      for (const l of this.#messageListeners) {
        try {
          l(m);
        } catch (err) {
          // One listener's failure must not break mqtt.js's receive loop (or the others).
          this.#errorListener?.(err);
        }
      }
    });
    client.on('connect', () => { for (const l of this.#connectListeners) l(); });
    client.on('close', () => { for (const l of this.#closeListeners) l(); });
    // mqtt.js emits 'error' for refused connections; without a listener Node would throw.
    client.on('error', () => {});
  }

  /** Connects (waits for the first CONNACK). */
  static async connect(options: TransportOptions): Promise<Transport> {
    const protocolVersion = options.protocolVersion ?? 4;
    const opts: IClientOptions = {
      clientId: options.clientId,
      protocolVersion,
      clean: true,
      keepalive: options.keepaliveSeconds ?? 30,
      reconnectPeriod: options.reconnectPeriod ?? 1000,
      connectTimeout: options.connectTimeout ?? 10_000,
      resubscribe: true,
    };
    if (options.username !== undefined) opts.username = options.username;
    if (options.password !== undefined) opts.password = options.password;
    if (options.will) opts.will = toMqttWill(options.will);
    if (options.tls) Object.assign(opts, tlsOptions(options.tls));
    const client = mqtt.connect(options.url, opts);
    // Commands and replies are small request/response packets: Nagle plus
    // delayed ACKs would add ~40 ms to each hop.
    noDelay(client);
    await new Promise<void>((resolve, reject) => {
      const ok = (): void => { client.off('error', fail); resolve(); };
      const fail = (err: Error): void => { client.off('connect', ok); client.end(true); reject(err); };
      client.once('connect', ok);
      client.once('error', fail);
    });
    return new Transport(client, protocolVersion);
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Will used from the next (re)connect on. */
  setWill(will: Will): void {
    this.client.options.will = toMqttWill(will);
  }

  /** Errors thrown by message listeners (they are caught, never rethrown). */
  onListenerError(listener: (err: unknown) => void): void {
    this.#errorListener = listener;
  }

  onMessage(listener: (m: Incoming) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** Every CONNACK after the first (reconnects). */
  onConnect(listener: () => void): () => void {
    this.#connectListeners.add(listener);
    return () => this.#connectListeners.delete(listener);
  }

  onClose(listener: () => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  async subscribe(filters: string[], qos: 0 | 1 = 1): Promise<void> {
    await this.client.subscribeAsync(filters, { qos });
  }

  async unsubscribe(filters: string[]): Promise<void> {
    await this.client.unsubscribeAsync(filters);
  }

  /** Resolves when the broker acknowledged (QoS 1) or the packet was written (QoS 0). */
  async publish(topic: string, payload: Uint8Array, options: PublishOptions = {}): Promise<void> {
    if (this.client.disconnecting || (this.client.options.reconnectPeriod === 0 && !this.client.connected)) {
      throw fleetError(FLEET_NOT_CONNECTED, `cannot publish to ${topic}: client ${this.client.options.clientId} is closed`);
    }
    const opts: IClientPublishOptions = { qos: options.qos ?? 1, retain: options.retain ?? false };
    if (this.protocolVersion === 5 && (options.responseTopic || options.correlationData)) {
      opts.properties = {};
      if (options.responseTopic) opts.properties.responseTopic = options.responseTopic;
      if (options.correlationData) opts.properties.correlationData = toBuffer(options.correlationData);
    }
    await this.client.publishAsync(topic, toBuffer(payload), opts);
  }

  /** Graceful: waits for in-flight packets, sends DISCONNECT (the broker drops the will). */
  async end(): Promise<void> {
    await this.client.endAsync(false);
  }

  /** Abrupt: drops the socket without DISCONNECT and stops reconnecting, so the broker publishes the will. */
  kill(): void {
    this.client.options.reconnectPeriod = 0;
    this.client.end(true);
  }
}

function noDelay(client: MqttClient): void {
  const set = (): void => { (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true); };
  set();
  client.on('connect', set);
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function tlsOptions(t: TlsOptions): Partial<IClientOptions> {
  const pem = (p: Pem): string | Buffer => (typeof p === 'string' ? p : toBuffer(p));
  const o: Partial<IClientOptions> = {};
  if (t.ca !== undefined) o.ca = (Array.isArray(t.ca) ? t.ca.map(pem) : pem(t.ca)) as IClientOptions['ca'];
  if (t.cert !== undefined) o.cert = pem(t.cert);
  if (t.key !== undefined) o.key = pem(t.key);
  if (t.rejectUnauthorized !== undefined) o.rejectUnauthorized = t.rejectUnauthorized;
  if (t.servername !== undefined) o.servername = t.servername;
  return o;
}

function toMqttWill(w: Will): NonNullable<IClientOptions['will']> {
  return { topic: w.topic, payload: toBuffer(w.payload), qos: w.qos ?? 1, retain: w.retain ?? false };
}
