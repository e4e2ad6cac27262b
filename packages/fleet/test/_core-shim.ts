/*
 * TEMPORARY: Hypervisor.snapshot/restore are being added to core by the lead.
 * Until they land, this installs equivalents built from core's snapshot module
 * so the HypervisorHost tests can run. It does nothing once core has them.
 */
import { Hypervisor } from '@rvisor/core/hypervisor';
import {
  applyPartition, capturePartition, checkApplicable, decodePartitionSnapshot, encodePartitionSnapshot,
} from '../../core/src/hypervisor/snapshot.ts';

const proto = Hypervisor.prototype as unknown as Record<string, unknown>;
if (typeof proto.snapshot !== 'function') {
  proto.snapshot = async function (this: Hypervisor, name: string) {
    const p = this.require(name);
    return encodePartitionSnapshot(capturePartition(this, p));
  };
  proto.restore = async function (this: Hypervisor, doc: Uint8Array, options: { name?: string } = {}) {
    const s = await decodePartitionSnapshot(doc);
    const name = options.name ?? s.name;
    checkApplicable(this, s, name);
    const p = this.createPartition({ ...s.config, name });
    applyPartition(this, p, s, false);
    // Keep mtime continuous on this timeline (cycles at 100 MHz; the timeline counts µs in real time).
    const delta = (this.timeline - s.timeline) * (this.timeBase === 'microseconds' ? 100 : 1);
    const ticks = Math.floor(delta / 10);
    const hart = p.vm.hart;
    hart.cycle += ticks * 10;
    hart.timeOffset -= ticks;
    hart.timerChanged();
    p.lifecycle.transition('paused', 'restored');
    return p;
  };
}
