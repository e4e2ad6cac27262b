/**
 * Static cyclic schedules (ARINC 653 style): validation of a major frame cut into partition windows,
 * and named schedule sets switched at frame boundaries.
 *
 * @module @rvisor/core/schedule
 */
export {
  SCHEDULE_BAD_FRAME,
  SCHEDULE_BAD_NAME,
  SCHEDULE_BAD_TIME_BASE,
  SCHEDULE_BAD_WINDOW,
  SCHEDULE_NAME_PATTERN,
  SCHEDULE_OUTSIDE_FRAME,
  SCHEDULE_OVERLAP,
  SCHEDULE_UNKNOWN_PARTITION,
  SCHEDULE_ZERO_LENGTH,
  validateSchedule,
} from './frame.ts';
export type { Schedule, ScheduleConfig, ScheduleWindow, TimeBase, WindowConfig } from './frame.ts';
export { SCHEDULE_BAD_POSITION, SCHEDULE_EXISTS, SCHEDULE_SET_EMPTY, SCHEDULE_TIME_BASE_MISMATCH, SCHEDULE_UNKNOWN, ScheduleSet } from './set.ts';
export type { SchedulePosition, ScheduleSetEvents, ScheduleSwitch, Slot } from './set.ts';
