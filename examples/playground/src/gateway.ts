// The gateway view: examples/gateway's three partitions (sensor -> filter -> logger over
// queuing channels) in one Hypervisor, one major frame per timer tick, with a per-partition
// console, live stats, and a timeline of the last frames showing how much of each window its
// partition used (instructions are the time base, so every run draws the same picture).
import { Hypervisor } from '@rvisor/core/hypervisor';
import { guests, fetchGuest } from './guests.ts';

const NAMES = ['sensor', 'filter', 'logger'] as const;
const COLORS: Record<string, string> = { sensor: '#3b82f6', filter: '#f59e0b', logger: '#10b981' };
const MAJOR_FRAME = 1_000_000;
const WINDOWS = [
  { partition: 'sensor', offset: 0, duration: 200_000 },
  { partition: 'filter', offset: 200_000, duration: 200_000 },
  { partition: 'logger', offset: 400_000, duration: 300_000 },
];
const MAX_FRAMES = 200;
const TIMELINE_ROWS = 12;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Per frame: instructions each partition retired in its window. */
type FrameUse = Record<string, number>;

export function setupGateway(): void {
  const button = $<HTMLButtonElement>('gw-run');
  const available = NAMES.every((n) => guests.some((g) => g.name === `gateway/${n}.elf`));
  if (!available) {
    button.disabled = true;
    $('gw-state').textContent = 'examples/gateway images not found';
    return;
  }
  button.addEventListener('click', () => void runGateway(button));
}

async function runGateway(button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  const state = (s: string) => {
    $('gw-state').textContent = s;
    document.body.dataset.gateway = s;
  };
  state('starting');
  const consoles: Record<string, HTMLPreElement> = {};
  const grid = $('gw-consoles');
  grid.replaceChildren();
  for (const name of NAMES) {
    const box = document.createElement('div');
    const title = document.createElement('h3');
    title.textContent = name;
    title.style.color = COLORS[name]!;
    const pre = document.createElement('pre');
    pre.id = `gw-console-${name}`;
    box.append(title, pre);
    grid.append(box);
    consoles[name] = pre;
  }

  const hv = new Hypervisor({ poolSize: 4 << 20 });
  const decoder = new TextDecoder();
  hv.events.on('console', ({ partition, bytes }) => {
    const pre = consoles[partition]!;
    pre.textContent += decoder.decode(bytes, { stream: true });
    pre.scrollTop = pre.scrollHeight;
  });
  for (const name of NAMES) {
    const image = await fetchGuest(guests.find((g) => g.name === `gateway/${name}.elf`)!);
    hv.createPartition({ name, image, ramSize: 256 << 10 });
  }
  hv.addChannel({ name: 'readings', kind: 'queuing', senders: ['sensor'], receivers: ['filter'], maxMessageSize: 8, depth: 8 });
  hv.addChannel({ name: 'averages', kind: 'queuing', senders: ['filter'], receivers: ['logger'], maxMessageSize: 8, depth: 8 });
  hv.setSchedules([{ name: 'main', majorFrame: MAJOR_FRAME, windows: WINDOWS }]);
  for (const name of NAMES) hv.start(name);

  const history: FrameUse[] = [];
  let last: Record<string, number> = Object.fromEntries(NAMES.map((n) => [n, 0]));
  state('running');
  const tick = () => {
    hv.runFrames(1);
    const stats = hv.stats;
    const use: FrameUse = {};
    for (const n of NAMES) {
      use[n] = stats.partitions[n]!.instructions - last[n]!;
    }
    last = Object.fromEntries(NAMES.map((n) => [n, stats.partitions[n]!.instructions]));
    history.push(use);
    drawTimeline(history.slice(-TIMELINE_ROWS), stats.frames);
    renderStats(stats);
    const done = NAMES.every((n) => stats.partitions[n]!.state !== 'running');
    if (done || stats.frames >= MAX_FRAMES) {
      state(done ? 'done' : 'frame limit');
      button.disabled = false;
      return;
    }
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
}

function renderStats(stats: Hypervisor['stats']): void {
  $('gw-frames').textContent = String(stats.frames);
  const body = $('gw-stats');
  body.replaceChildren();
  for (const [name, s] of Object.entries(stats.partitions)) {
    const tr = document.createElement('tr');
    for (const v of [name, s.state, s.instructions.toLocaleString('en'), s.windows, s.overruns, s.faults]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.append(td);
    }
    body.append(tr);
  }
}

/** One row per major frame; each window a box, filled as far as its partition ran. */
function drawTimeline(rows: FrameUse[], frames: number): void {
  const svg = $('gw-timeline');
  const W = 1000;
  const ROW = 22;
  const NS = 'http://www.w3.org/2000/svg';
  svg.setAttribute('viewBox', `0 0 ${W + 60} ${rows.length * ROW + 4}`);
  svg.replaceChildren();
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.append(e);
  };
  rows.forEach((use, i) => {
    const y = i * ROW + 2;
    el('text', { x: 0, y: y + 15, 'font-size': 12, fill: 'currentColor' }, `#${frames - rows.length + i}`);
    for (const w of WINDOWS) {
      const x = 60 + (w.offset / MAJOR_FRAME) * W;
      const width = (w.duration / MAJOR_FRAME) * W;
      const used = Math.min(1, (use[w.partition] ?? 0) / w.duration);
      el('rect', { x, y, width, height: ROW - 4, fill: 'none', stroke: COLORS[w.partition]!, 'stroke-width': 1 });
      el('rect', { x, y, width: Math.max(used > 0 ? 1 : 0, width * used), height: ROW - 4, fill: COLORS[w.partition]!, 'data-partition': w.partition });
    }
  });
}
