import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Hart } from '../src/cpu/hart.ts';
import { MIP_MSIP } from '../src/cpu/trap.ts';
import { Clint } from '../src/devices/clint.ts';
import { Finisher } from '../src/devices/finisher.ts';
import { Htif } from '../src/devices/htif.ts';
import { Uart } from '../src/devices/uart.ts';
import { Bus, PAGE_WATCH } from '../src/memory/bus.ts';

// Register offsets and bits from the NS16550A datasheet.
const RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;
const LSR_DR = 0x01, LSR_THRE = 0x20, LSR_TEMT = 0x40;

const uart = suite('uart: NS16550A registers');

uart('LSR always has THRE and TEMT; DR only while input is queued', () => {
  const u = new Uart();
  assert.is(u.read(LSR, 1), LSR_THRE | LSR_TEMT);
  u.push(new Uint8Array([0x41, 0x42]));
  assert.is(u.read(LSR, 1), LSR_THRE | LSR_TEMT | LSR_DR);
  assert.is(u.read(RBR, 1), 0x41);
  assert.is(u.read(LSR, 1) & LSR_DR, LSR_DR);
  assert.is(u.read(RBR, 1), 0x42);
  assert.is(u.read(LSR, 1), LSR_THRE | LSR_TEMT);
  assert.is(u.read(RBR, 1), 0, 'empty RBR reads 0');
});

uart('THR writes reach the transmit callback in order', () => {
  const out: number[] = [];
  const u = new Uart((b) => out.push(b));
  for (const c of 'hi\n') u.write(THR, 1, c.charCodeAt(0));
  u.write(THR, 1, 0x1ff);
  assert.equal(out, [0x68, 0x69, 0x0a, 0xff]);
});

uart('DLAB switches offsets 0 and 1 to the divisor latch', () => {
  const out: number[] = [];
  const u = new Uart((b) => out.push(b));
  u.write(IER, 1, 0x01);
  u.write(LCR, 1, 0x83);
  u.write(DLL, 1, 0x0c);
  u.write(DLM, 1, 0x34);
  assert.is(u.read(DLL, 1), 0x0c);
  assert.is(u.read(DLM, 1), 0x34);
  assert.is(u.divisor, 0x340c);
  assert.equal(out, [], 'a divisor write is not transmitted');
  u.write(LCR, 1, 0x03);
  assert.is(u.read(LCR, 1), 0x03);
  assert.is(u.read(IER, 1), 0x01, 'IER kept its value under DLAB');
  u.write(THR, 1, 0x55);
  assert.equal(out, [0x55]);
});

uart('IIR reports received data, then THR empty, then nothing', () => {
  const u = new Uart();
  assert.is(u.read(IIR, 1), 0x01);
  u.write(FCR, 1, 0x01);
  assert.is(u.read(IIR, 1), 0xc1, 'FIFO-enabled bits');
  u.write(IER, 1, 0x01);
  u.push([7]);
  assert.is(u.read(IIR, 1), 0xc4);
  assert.ok(u.interruptPending);
  u.read(RBR, 1);
  assert.is(u.read(IIR, 1), 0xc1);
  u.write(IER, 1, 0x03);
  assert.is(u.read(IIR, 1), 0xc2, 'enabling ETBEI with an empty THR raises it');
  assert.is(u.read(IIR, 1), 0xc1, 'reading IIR cleared it');
  u.write(THR, 1, 0x20);
  assert.is(u.read(IIR, 1), 0xc2, 'instant transmission empties THR again');
});

uart('FCR bit 1 clears the receive FIFO', () => {
  const u = new Uart();
  u.push([1, 2, 3]);
  u.write(FCR, 1, 0x03);
  assert.is(u.rxLength, 0);
  assert.is(u.read(LSR, 1) & LSR_DR, 0);
});

uart('toggling FIFO enable drops queued input, like QEMU', () => {
  const u = new Uart();
  u.push([1, 2]);
  u.write(FCR, 1, 0x01);
  assert.is(u.rxLength, 0);
  u.push([3]);
  u.write(FCR, 1, 0x01);
  assert.is(u.rxLength, 1, 'rewriting the same enable keeps the FIFO');
});

uart('SCR and MCR hold values; MSR shows carrier, DSR and CTS', () => {
  const u = new Uart();
  u.write(SCR, 1, 0x5a);
  assert.is(u.read(SCR, 1), 0x5a);
  u.write(MCR, 1, 0xff);
  assert.is(u.read(MCR, 1), 0x1f);
  u.write(MCR, 1, 0x03);
  assert.is(u.read(MSR, 1), 0xb0);
  u.write(LSR, 1, 0);
  assert.is(u.read(LSR, 1), LSR_THRE | LSR_TEMT, 'LSR is read-only');
});

uart('loopback mode returns transmitted bytes to the receiver', () => {
  const out: number[] = [];
  const u = new Uart((b) => out.push(b));
  u.write(MCR, 1, 0x10 | 0x03);
  u.write(THR, 1, 0x33);
  assert.equal(out, []);
  assert.is(u.read(RBR, 1), 0x33);
  assert.is(u.read(MSR, 1), 0x30, 'DTR/RTS loop to DSR/CTS');
});

uart.run();

function hartOnBus(): Hart {
  return new Hart(new Bus(new Uint8Array(4096), 0x8000_0000));
}

const clint = suite('clint: 64-bit timer registers in 32-bit halves');

clint('mtime halves follow the hart clock', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  hart.cycle = (0x1_0000_0000 + 5) * 10 + 9;
  assert.is(c.read(0xbff8, 4), 5);
  assert.is(c.read(0xbffc, 4), 1);
  hart.cycle += 10;
  assert.is(c.read(0xbff8, 4), 6);
});

clint('writing mtime moves the time offset, not the cycle count', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  hart.cycle = 1000;
  c.write(0xbffc, 4, 2);
  c.write(0xbff8, 4, 0x10);
  assert.is(hart.mtime, 2 * 0x1_0000_0000 + 0x10);
  assert.is(hart.cycle, 1000);
  assert.is(c.read(0xbff8, 4), 0x10);
  assert.is(c.read(0xbffc, 4), 2);
});

clint('mtimecmp halves combine into the hart compare value and read back', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  assert.is(c.read(0x4000, 4), 0xffff_ffff, 'reset: never');
  assert.is(c.read(0x4004, 4), 0xffff_ffff);
  c.write(0x4004, 4, 0xffff_ffff);
  c.write(0x4000, 4, 0x1234);
  c.write(0x4004, 4, 3);
  assert.is(hart.mtimecmp, 3 * 0x1_0000_0000 + 0x1234);
  assert.is(c.read(0x4000, 4), 0x1234);
  assert.is(c.read(0x4004, 4), 3);
});

clint('a compare value beyond 2^53 never fires but reads back exactly', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  c.write(0x4000, 4, 0xdead_beef);
  c.write(0x4004, 4, 0x8000_0000);
  assert.is(hart.mtimecmp, Infinity);
  assert.is(c.read(0x4000, 4), 0xdead_beef);
  assert.is(c.read(0x4004, 4), 0x8000_0000);
});

clint('a compare value set by the host (snapshot restore) reads back', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  hart.mtimecmp = 7 * 0x1_0000_0000 + 9;
  assert.is(c.read(0x4000, 4), 9);
  assert.is(c.read(0x4004, 4), 7);
});

clint('an expired compare value makes MTIP pending', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  hart.mie = 1 << 7;
  hart.cycle = 500;
  c.write(0x4004, 4, 0);
  c.write(0x4000, 4, 60);
  assert.is(hart.pendingInterrupts(), 0);
  c.write(0x4000, 4, 50);
  assert.is(hart.pendingInterrupts(), 1 << 7);
});

clint('msip drives the software interrupt line', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  c.write(0, 4, 0xffff_ffff);
  assert.is(c.read(0, 4), 1);
  assert.is(hart.mip & MIP_MSIP, MIP_MSIP);
  c.write(0, 4, 0);
  assert.is(hart.mip & MIP_MSIP, 0);
});

clint('byte and halfword accesses see parts of the word', () => {
  const hart = hartOnBus();
  const c = new Clint(hart);
  c.write(0x4000, 4, 0x1122_3344);
  c.write(0x4004, 4, 0);
  assert.is(c.read(0x4001, 1), 0x33);
  assert.is(c.read(0x4002, 2), 0x1122);
  c.write(0x4003, 1, 0xaa);
  assert.is(c.read(0x4000, 4), 0xaa22_3344);
});

clint.run();

function finisherLog() {
  const log: string[] = [];
  const f = new Finisher({ exit: (c) => log.push(`exit ${c}`), reset: () => log.push('reset'), requestStop: () => log.push('stop') });
  return { f, log };
}

const finisher = suite('finisher: sifive test device codes');

finisher('0x5555 powers off with code 0', () => {
  const { f, log } = finisherLog();
  f.write(0, 4, 0x5555);
  assert.equal(log, ['exit 0', 'stop']);
});

finisher('0x3333 | code << 16 fails with that code', () => {
  const { f, log } = finisherLog();
  f.write(0, 4, (42 << 16) | 0x3333);
  f.write(0, 4, (0xffff << 16) | 0x3333);
  assert.equal(log, ['exit 42', 'stop', 'exit 65535', 'stop']);
});

finisher('0x7777 requests a reset', () => {
  const { f, log } = finisherLog();
  f.write(0, 4, 0x7777);
  assert.equal(log, ['reset', 'stop']);
});

finisher('other values, offsets and byte writes are ignored', () => {
  const { f, log } = finisherLog();
  f.write(0, 4, 0x1234);
  f.write(4, 4, 0x5555);
  f.write(0, 1, 0x55);
  assert.equal(log, []);
  assert.is(f.read(0, 4), 0);
});

finisher.run();

const TOHOST = 0x8000_1000;
const FROMHOST = 0x8000_1040;

function htifRig(size = 8) {
  const bus = new Bus(new Uint8Array(0x4000), 0x8000_0000);
  const log: string[] = [];
  const htif = new Htif(
    bus,
    {
      exit: (c) => log.push(`exit ${c}`),
      output: (b, s) => log.push(`${s} ${new TextDecoder().decode(b)}`),
      requestStop: () => log.push('stop'),
    },
    TOHOST,
    FROMHOST,
    size,
  );
  bus.onFlaggedStore = (off, w) => htif.onStore(off, w);
  return { bus, log, htif };
}

const htif = suite('htif: tohost watch');

htif('watches the page that holds tohost', () => {
  const { bus } = htifRig();
  assert.is(bus.pageFlags[1]! & PAGE_WATCH, PAGE_WATCH);
  assert.is(bus.pageFlags[0], 0);
});

htif('riscv-tests pass: 1 in the low word, then the high word', () => {
  const { bus, log } = htifRig();
  bus.store(TOHOST, 4, 1);
  assert.equal(log, [], 'the low half alone is not a command yet');
  bus.store(TOHOST + 4, 4, 0);
  assert.equal(log, ['exit 0', 'stop']);
  assert.is(bus.load(TOHOST, 4), 0, 'tohost is cleared after the command');
});

htif('riscv-tests failure: (test << 1) | 1 exits with the test number', () => {
  const { bus, log } = htifRig();
  bus.store(TOHOST, 4, (23 << 1) | 1);
  bus.store(TOHOST + 4, 4, 0);
  assert.equal(log, ['exit 23', 'stop']);
});

htif('console putchar is device 1, command 1', () => {
  const { bus, log } = htifRig();
  bus.store(TOHOST, 4, 0x41);
  bus.store(TOHOST + 4, 4, 0x0101_0000);
  assert.equal(log, ['stdout A']);
  assert.is(bus.load(TOHOST + 4, 4), 0);
});

htif('magic-memory write prints the buffer and answers in fromhost', () => {
  const { bus, log } = htifRig();
  const mem = 0x8000_2000;
  const buf = 0x8000_2100;
  bus.writeRam(buf, new TextEncoder().encode('hey'));
  [64, 0, 1, 0, buf, 0, 3, 0].forEach((v, i) => bus.store(mem + i * 4, 4, v));
  bus.store(TOHOST, 4, mem);
  bus.store(TOHOST + 4, 4, 0);
  assert.equal(log, ['stdout hey']);
  assert.is(bus.load(mem, 4), 3, 'return value');
  assert.is(bus.load(FROMHOST, 4), 1);
});

htif('stores elsewhere on the watched page are ignored', () => {
  const { bus, log } = htifRig();
  bus.store(TOHOST + 8, 4, 1);
  bus.store(TOHOST - 4, 4, 1);
  assert.equal(log, []);
});

htif('a 4-byte tohost symbol triggers on the low word', () => {
  const { bus, log } = htifRig(4);
  bus.store(TOHOST, 4, 1);
  assert.equal(log, ['exit 0', 'stop']);
});

htif.run();
