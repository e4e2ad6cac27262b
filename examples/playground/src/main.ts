// Runs one guest on the page's main thread in short slices, so the page stays responsive:
// each timer tick gives the guest at most FRAME_MS of host time, then repaints the stats.
import { VirtualMachine } from '@rvisor/core/vm';
import { parseImage } from '@rvisor/core/loader';
import { setupGateway } from './gateway.ts';
import { fetchGuest, guests } from './guests.ts';

/** Instructions per `run()` call: small enough to check the clock often. */
const SLICE = 100_000;
/** Host milliseconds the guest may use before the page gets the thread back. */
const FRAME_MS = 12;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const guestSelect = $<HTMLSelectElement>('guest');
const profileSelect = $<HTMLSelectElement>('profile');
const argsInput = $<HTMLInputElement>('args');
const runButton = $<HTMLButtonElement>('run');
const stopButton = $<HTMLButtonElement>('stop');
const consoleEl = $<HTMLPreElement>('console');

for (const g of guests) guestSelect.add(new Option(g.name, g.name));
const initial = new URLSearchParams(location.search).get('guest') ?? 'hello/hello.elf';
if (guests.some((g) => g.name === initial)) guestSelect.value = initial;

let vm: VirtualMachine | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let startedAt = 0;
let busyMs = 0;
const decoder = new TextDecoder();

function show(state: string): void {
  $('state').textContent = state;
  document.body.dataset.state = state;
}

function stats(): void {
  if (!vm) return;
  const instret = vm.hart.instret;
  $('instret').textContent = instret.toLocaleString('en');
  $('mips').textContent = busyMs > 0 ? (instret / busyMs / 1000).toFixed(1) : '-';
  $('wall').textContent = `${((performance.now() - startedAt) / 1000).toFixed(2)} s`;
  $('exit').textContent = vm.exitCode === undefined ? '-' : String(vm.exitCode);
  $('fault').textContent = vm.fault ? vm.fault.message : '-';
}

function finish(state: string): void {
  clearTimeout(timer);
  timer = undefined;
  consoleEl.textContent += decoder.decode();
  stats();
  show(state);
  runButton.disabled = false;
  stopButton.disabled = true;
}

function tick(): void {
  if (!vm) return;
  const t0 = performance.now();
  let waiting = false;
  while (performance.now() - t0 < FRAME_MS) {
    const { reason } = vm.run(SLICE);
    if (reason === 'exit' || reason === 'fault' || reason === 'halt') break;
    if (reason === 'blocked') {
      waiting = true; // a hypercall that needs a hypervisor (channels): nothing serves it here
      break;
    }
    // Virtual time: a sleeping or idle guest jumps to its wake-up at once (as runToEnd does).
    if ((reason === 'sleep' || reason === 'idle') && !vm.idle()) {
      waiting = true; // idle with no timer: only console input could wake it
      break;
    }
  }
  busyMs += performance.now() - t0;
  if (vm.fault !== undefined) return finish('faulted');
  if (vm.exitCode !== undefined) return finish('exited');
  if (waiting) return finish('waiting');
  stats();
  timer = setTimeout(tick, 0);
}

async function start(): Promise<void> {
  const guest = guests.find((g) => g.name === guestSelect.value);
  if (!guest) return;
  runButton.disabled = true;
  consoleEl.textContent = '';
  try {
    const image = await fetchGuest(guest);
    const chosen = profileSelect.value;
    // The machine profile's images are linked at RAM (0x8000_0000), app images near 0.
    const profile = chosen === 'auto' ? (parseImage(image).entry >= 0x8000_0000 ? 'machine' : 'app') : (chosen as 'app' | 'machine');
    const argv = [guest.name.split('/').pop()!, ...argsInput.value.split(/\s+/).filter(Boolean)];
    vm = new VirtualMachine({
      image,
      profile,
      argv,
      onConsole: (bytes: Uint8Array) => {
        consoleEl.textContent += decoder.decode(bytes, { stream: true });
        consoleEl.scrollTop = consoleEl.scrollHeight;
      },
    });
  } catch (err) {
    consoleEl.textContent = `cannot start ${guest.name}: ${(err as Error).message}`;
    return finish('error');
  }
  startedAt = performance.now();
  busyMs = 0;
  show('running');
  stopButton.disabled = false;
  timer = setTimeout(tick, 0);
}

runButton.addEventListener('click', () => void start());
stopButton.addEventListener('click', () => finish('stopped'));
show('idle');
setupGateway();
