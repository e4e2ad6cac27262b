import { Agent, type AgentOptions } from '../src/agent.ts';
import { decodeAs, encodeMessage } from '../src/protocol/codec.ts';
import { SCHEMA_VERSION, type CommandArgs, type CommandKind, type CommandMsg, type ReplyMsg } from '../src/protocol/schema.ts';
import { cmdTopic, INVALID_REPLY_ID, replyTopic } from '../src/protocol/topics.ts';
import { Transport, type Incoming } from '../src/transport.ts';
import { FakeHost } from './_fake-host.ts';
import { uniqueFleet, type TestBroker } from './_brokers.ts';

/** One agent over a FakeHost plus a raw MQTT client that plays the controller byte by byte. */
export interface Rig {
  fleet: string;
  gw: string;
  host: FakeHost;
  agent: Agent;
  raw: Transport;
  replyTo: string;
  invalidTo: string;
  errors: unknown[];
  /** Every reply received, in order. */
  replies: { topic: string; msg: ReplyMsg; m: Incoming }[];
  cmd<K extends CommandKind>(kind: K, args: CommandArgs[K], over?: Partial<CommandMsg>): CommandMsg<K>;
  /** Publishes raw bytes to the command topic and waits for the next reply on `topic`. */
  sendRaw(payload: Uint8Array, topic?: string, opts?: { responseTopic?: string; correlationData?: Uint8Array }): Promise<{ msg: ReplyMsg; m: Incoming }>;
  send(cmd: CommandMsg): Promise<ReplyMsg>;
  close(): Promise<void>;
}

let ids = 0;

export async function rig(broker: TestBroker, options: Partial<AgentOptions> & { version?: 4 | 5; host?: FakeHost } = {}): Promise<Rig> {
  const fleet = uniqueFleet(broker.kind);
  const gw = 'gw-1';
  const host = options.host ?? new FakeHost();
  const errors: unknown[] = [];
  const agent = new Agent({ fleet, gw, host, url: broker.url, protocolVersion: options.version ?? 4, telemetryIntervalMs: 0, onError: (e) => errors.push(e), ...options });
  await agent.start();
  const raw = await Transport.connect({ url: broker.url, clientId: `raw-${fleet}`, protocolVersion: options.version ?? 4 });
  const replyTo = replyTopic(fleet, gw, 'raw');
  const invalidTo = replyTopic(fleet, gw, INVALID_REPLY_ID);
  const replies: Rig['replies'] = [];
  const waiters: { match: (topic: string, msg: ReplyMsg) => boolean; resolve: (r: { msg: ReplyMsg; m: Incoming }) => void }[] = [];
  raw.onMessage((m) => {
    if (!m.topic.includes('/reply/')) return;
    const msg = decodeAs('reply', m.payload);
    replies.push({ topic: m.topic, msg, m });
    const i = waiters.findIndex((w) => w.match(m.topic, msg));
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve({ msg, m });
  });
  await raw.subscribe([replyTo, invalidTo]);
  const next = (topic: string, id?: string): Promise<{ msg: ReplyMsg; m: Incoming }> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply${id ? ` to ${id}` : ''} on ${topic} within 3 s`)), 3000);
      const match = (t: string, msg: ReplyMsg): boolean => t === topic && (id === undefined || msg.id === id);
      waiters.push({ match, resolve: (r) => { clearTimeout(timer); resolve(r); } });
    });
  const r: Rig = {
    fleet, gw, host, agent, raw, replyTo, invalidTo, errors, replies,
    cmd: (kind, args, over = {}) => ({ v: SCHEMA_VERSION, t: 'cmd', id: `c${++ids}`, kind, replyTo, deadline: Date.now() + 10_000, args, ...over }) as CommandMsg<typeof kind>,
    async sendRaw(payload, topic = replyTo, opts = {}) {
      const p = next(topic);
      await raw.publish(cmdTopic(fleet, gw), payload, { qos: 1, ...opts });
      return p;
    },
    async send(c) {
      const p = next(c.replyTo, c.id);
      await raw.publish(cmdTopic(fleet, gw), encodeMessage(c), { qos: 1 });
      return (await p).msg;
    },
    async close() {
      await agent.stop();
      await raw.end();
    },
  };
  return r;
}
