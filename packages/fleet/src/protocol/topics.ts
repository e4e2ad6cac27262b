import { FLEET_BAD_TOPIC, fleetError } from './errors.ts';

/** Protocol generation in every topic; a breaking topic change gets a new root. */
export const TOPIC_VERSION = 'v1';

/**
 * Fleet, gateway, partition and reply names become single topic levels, so
 * they must not contain `/`, `+`, `#` or NUL (MQTT wildcards and separators)
 * and must not start with `$` (broker-reserved). A conservative set keeps them
 * printable and safe in file names and logs too.
 */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$/;

export function isName(s: unknown): s is string {
  return typeof s === 'string' && NAME_PATTERN.test(s);
}

export function checkName(what: string, s: string): string {
  if (!isName(s)) throw fleetError(FLEET_BAD_TOPIC, `${what} name ${JSON.stringify(s)} is not 1-64 of [A-Za-z0-9_.:-] starting with [A-Za-z0-9_]`);
  return s;
}

export const root = (fleet: string): string => `rvisor/${TOPIC_VERSION}/${checkName('fleet', fleet)}`;
const gwBase = (fleet: string, gw: string): string => `${root(fleet)}/gw/${checkName('gateway', gw)}`;

/** Retained birth/death certificate of a gateway (last will = offline). */
export const stateTopic = (fleet: string, gw: string): string => `${gwBase(fleet, gw)}/state`;
/** Commands to a gateway, QoS 1. */
export const cmdTopic = (fleet: string, gw: string): string => `${gwBase(fleet, gw)}/cmd`;
/** Replies for one requester (`replyId` is usually the controller id). */
export const replyTopic = (fleet: string, gw: string, replyId: string): string => `${gwBase(fleet, gw)}/reply/${checkName('reply', replyId)}`;
/** Prefix every reply topic of a gateway starts with; an agent replies nowhere else. */
export const replyPrefix = (fleet: string, gw: string): string => `${gwBase(fleet, gw)}/reply/`;
/** Where an agent reports a payload it could not even read a reply topic from. */
export const INVALID_REPLY_ID = '_invalid';
export const telemetryTopic = (fleet: string, gw: string): string => `${gwBase(fleet, gw)}/telemetry`;
export const consoleTopic = (fleet: string, gw: string, partition: string): string => `${gwBase(fleet, gw)}/p/${checkName('partition', partition)}/console`;

/** Subscription filters for a controller of `fleet`. */
export const filters = {
  states: (fleet: string): string => `${root(fleet)}/gw/+/state`,
  telemetry: (fleet: string): string => `${root(fleet)}/gw/+/telemetry`,
  replies: (fleet: string, replyId: string): string => `${root(fleet)}/gw/+/reply/${checkName('reply', replyId)}`,
  consoles: (fleet: string, gw = '+'): string => `${root(fleet)}/gw/${gw === '+' ? gw : checkName('gateway', gw)}/p/+/console`,
};

export type ParsedTopic =
  | { fleet: string; gw: string; kind: 'state' | 'cmd' | 'telemetry' }
  | { fleet: string; gw: string; kind: 'reply'; replyId: string }
  | { fleet: string; gw: string; kind: 'console'; partition: string };

/** Inverse of the builders; `null` for anything that is not a fleet topic of this version. */
export function parseTopic(topic: string): ParsedTopic | null {
  const l = topic.split('/');
  if (l.length < 5 || l[0] !== 'rvisor' || l[1] !== TOPIC_VERSION || l[3] !== 'gw') return null;
  const fleet = l[2]!;
  const gw = l[4]!;
  if (!isName(fleet) || !isName(gw)) return null;
  if (l.length === 6 && (l[5] === 'state' || l[5] === 'cmd' || l[5] === 'telemetry')) return { fleet, gw, kind: l[5] };
  if (l.length === 7 && l[5] === 'reply' && isName(l[6])) return { fleet, gw, kind: 'reply', replyId: l[6] };
  if (l.length === 8 && l[5] === 'p' && l[7] === 'console' && isName(l[6])) return { fleet, gw, kind: 'console', partition: l[6] };
  return null;
}
