/**
 * The error classes of rvisor; match on an error's `code`, not on its message.
 *
 * @module @rvisor/core/errors
 */
/**
 * Every error rvisor throws for bad input or an illegal request is an
 * `RvisorError` with a stable, machine-readable `code`. Messages are one line
 * and name the offending thing; the code is what programs should match on.
 */
export class RvisorError extends Error {
  /** Stable identifier, e.g. `ELF_BAD_MAGIC`. Never changes between versions. */
  readonly code: string;

  /** `name` becomes the concrete subclass's name; `options.cause` is the underlying error, if any. */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A guest image (ELF or flat binary) that cannot be loaded. */
export class ElfError extends RvisorError {}

/** A configuration value out of range or inconsistent (RAM size, ISA, schedule...). */
export class ConfigError extends RvisorError {}

/** An operation on a partition that its state does not allow. */
export class PartitionError extends RvisorError {}

/** A snapshot that is corrupt, truncated or of an unknown version. */
export class SnapshotError extends RvisorError {}

/** An error raised by the fleet layer (agent, controller, protocol). */
export class FleetError extends RvisorError {}
