import { FleetError } from '@rvisor/core/errors';

export { FleetError };

/**
 * Stable error codes of the fleet protocol. They travel in error replies
 * (`error.code`) and are the `code` of the FleetError a controller throws, so
 * programs on either side match on the same strings.
 */
export const FLEET_BAD_PAYLOAD = 'FLEET_BAD_PAYLOAD'; // not CBOR, trailing bytes, not a map
export const FLEET_TOO_LARGE = 'FLEET_TOO_LARGE'; // payload above the configured maximum
export const FLEET_BAD_SCHEMA = 'FLEET_BAD_SCHEMA'; // missing/unknown schema version or message type
export const FLEET_BAD_FIELD = 'FLEET_BAD_FIELD'; // a field missing or of the wrong type/range (path named)
export const FLEET_BAD_TOPIC = 'FLEET_BAD_TOPIC'; // a topic or name that the protocol does not allow
export const FLEET_UNKNOWN_COMMAND = 'FLEET_UNKNOWN_COMMAND';
export const FLEET_UNSIGNED = 'FLEET_UNSIGNED'; // agent has a trusted key, command carries no signature
export const FLEET_BAD_SIGNATURE = 'FLEET_BAD_SIGNATURE'; // signature does not verify (tampered or wrong key)
export const FLEET_UNKNOWN_KEY = 'FLEET_UNKNOWN_KEY'; // signed by a key id the agent does not trust
export const FLEET_REPLAYED = 'FLEET_REPLAYED'; // nonce already seen inside its validity window
export const FLEET_EXPIRED = 'FLEET_EXPIRED'; // signature expiry in the past
export const FLEET_EXPIRY_TOO_FAR = 'FLEET_EXPIRY_TOO_FAR'; // expiry beyond the agent's replay window
export const FLEET_ID_REUSED = 'FLEET_ID_REUSED'; // same command id, different content
export const FLEET_TIMEOUT = 'FLEET_TIMEOUT'; // deadline passed (before execution, or no reply in time)
export const FLEET_HOST_ERROR = 'FLEET_HOST_ERROR'; // the hypervisor refused; `message` says why
export const FLEET_NOT_FOUND = 'FLEET_NOT_FOUND'; // no such partition / transfer
export const FLEET_EXISTS = 'FLEET_EXISTS'; // partition name already taken
export const FLEET_BAD_STATE = 'FLEET_BAD_STATE'; // lifecycle transition not allowed in the current state
export const FLEET_NO_ROOM = 'FLEET_NO_ROOM'; // admission failed: pool / partition slots exhausted
export const FLEET_DIGEST_MISMATCH = 'FLEET_DIGEST_MISMATCH'; // transferred bytes do not hash to the announced digest
export const FLEET_NOT_CONNECTED = 'FLEET_NOT_CONNECTED';
export const FLEET_OFFLINE = 'FLEET_OFFLINE'; // target gateway is offline
export const FLEET_NO_GATEWAY = 'FLEET_NO_GATEWAY'; // no gateway with room for a workload
export const FLEET_BROKER = 'FLEET_BROKER'; // embedded broker could not start
export const FLEET_MIGRATION_FAILED = 'FLEET_MIGRATION_FAILED';

/** Error body carried in a reply: the code, the one-line message and, for field errors, the path. */
export interface ErrorBody {
  code: string;
  message: string;
  path?: string;
}

export function fleetError(code: string, message: string, path?: string, cause?: unknown): FleetError & { path?: string } {
  const e = new FleetError(code, message, cause === undefined ? undefined : { cause }) as FleetError & { path?: string };
  if (path !== undefined) e.path = path;
  return e;
}

/** The reply body for any thrown value: FleetErrors keep their code, anything else is a host error. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof FleetError) {
    const path = (err as { path?: unknown }).path;
    return typeof path === 'string' ? { code: err.code, message: err.message, path } : { code: err.code, message: err.message };
  }
  const code = typeof (err as { code?: unknown })?.code === 'string' ? String((err as { code: string }).code) : FLEET_HOST_ERROR;
  const message = err instanceof Error ? err.message : String(err);
  return { code, message };
}
