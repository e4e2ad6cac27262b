/**
 * NS16550A UART, as QEMU's `virt` machine maps it at 0x1000_0000 (8 byte-wide
 * registers, reg-shift 0).
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the
 * `onTransmit` callback, so LSR always reports THRE | TEMT and a polling
 * driver never waits. Received bytes come from a host-side queue (`push`).
 * There is no interrupt controller in the machine profile yet, so the
 * interrupt state is visible in IIR (and `interruptPending`) but not wired to
 * the hart. Modem lines read as QEMU's do with nothing attached:
 * MSR = DCD | DSR | CTS. MCR loopback sends transmitted bytes back to RX.
 */

import type { Device } from '../memory/bus.ts';

/** Guest physical base address of the UART (QEMU `virt` layout). */
export const UART_BASE = 0x1000_0000;
/** Size in bytes of the UART's MMIO window: eight byte-wide registers. */
export const UART_SIZE = 8;

const RBR_THR_DLL = 0;
const IER_DLM = 1;
const IIR_FCR = 2;
const LCR = 3;
const MCR = 4;
const LSR = 5;
const MSR = 6;
const SCR = 7;

/** LSR bit 0 (Data Ready): at least one received byte is waiting in RBR. */
export const LSR_DR = 0x01;
/** LSR bit 5 (THR Empty): the guest may write the next byte; always set here. */
export const LSR_THRE = 0x20;
/** LSR bit 6 (Transmitter Empty): nothing is being shifted out; always set here. */
export const LSR_TEMT = 0x40;
const LCR_DLAB = 0x80;
const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IIR_NONE = 0x01;
const IIR_THRE = 0x02;
const IIR_RDA = 0x04;
const IIR_FIFO = 0xc0;
const FCR_ENABLE = 0x01;
const FCR_CLEAR_RX = 0x02;
const MCR_LOOP = 0x10;
const MSR_IDLE = 0xb0;

/**
 * The UART's guest-visible registers and pending input as plain data, for
 * snapshots ({@link Uart.saveState} / {@link Uart.loadState}).
 */
export interface UartState {
  /** Interrupt Enable Register (low four bits). */
  ier: number;
  /** Line Control Register; bit 7 (DLAB) switches offsets 0/1 to the divisor latch. */
  lcr: number;
  /** Modem Control Register (low five bits; bit 4 is loopback). */
  mcr: number;
  /** Scratch register: any byte, no effect. */
  scr: number;
  /** Last FIFO Control value (enable and trigger-level bits). */
  fcr: number;
  /** 16-bit baud divisor latch (DLM:DLL). */
  divisor: number;
  /** A THR-empty interrupt is latched and not yet acknowledged through IIR. */
  threPending: boolean;
  /** Received bytes not yet read by the guest. */
  rx: Uint8Array;
}

/** An NS16550A UART MMIO device with instant transmission and a host-fed receive queue. */
export class Uart implements Device {
  /** Called for every transmitted byte (not in loopback mode). */
  onTransmit: (byte: number) => void;

  /** Interrupt Enable Register (low four bits). */
  ier = 0;
  /** Line Control Register; bit 7 (DLAB) switches offsets 0/1 to the divisor latch. */
  lcr = 0;
  /** Modem Control Register (low five bits; bit 4 is loopback). */
  mcr = 0;
  /** Scratch register: any byte, no effect. */
  scr = 0;
  /** Last FIFO Control value (enable and trigger-level bits). */
  fcr = 0;
  /** Divisor latch; no effect on timing (transmission is instant). */
  divisor = 0;
  /** A THR-empty interrupt is latched until IIR reports it or THR is written. */
  private threPending = false;
  private rx: number[] = [];
  private rxHead = 0;

  /** `onTransmit` receives each byte the guest transmits (default: discard). */
  constructor(onTransmit: (byte: number) => void = () => {}) {
    this.onTransmit = onTransmit;
  }

  /** Queue host input for the guest to read from RBR. */
  push(bytes: Uint8Array | ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.rx.push(bytes[i]! & 0xff);
  }

  /** Bytes queued and not yet read by the guest. */
  get rxLength(): number {
    return this.rx.length - this.rxHead;
  }

  /** What IIR would report; the line a PLIC would sample. */
  get interruptPending(): boolean {
    return this.iir() !== (IIR_NONE | this.fifoBits());
  }

  /** Register and queue state, plain data (snapshots). */
  saveState(): UartState {
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, scr: this.scr, fcr: this.fcr, divisor: this.divisor,
      threPending: this.threPending, rx: Uint8Array.from(this.rx.slice(this.rxHead)),
    };
  }

  /** Restore registers and pending input captured by {@link Uart.saveState}. */
  loadState(s: UartState): void {
    this.ier = s.ier;
    this.lcr = s.lcr;
    this.mcr = s.mcr;
    this.scr = s.scr;
    this.fcr = s.fcr;
    this.divisor = s.divisor;
    this.threPending = s.threPending;
    this.rx = Array.from(s.rx);
    this.rxHead = 0;
  }

  /** Return every register to its power-on value and drop pending input. */
  reset(): void {
    this.ier = this.lcr = this.mcr = this.scr = this.fcr = this.divisor = 0;
    this.threPending = false;
    this.rx = [];
    this.rxHead = 0;
  }

  /**
   * MMIO read of the register at `offset` (byte registers, width ignored); reading RBR consumes a byte, reading IIR
   * acknowledges a THR-empty interrupt.
   */
  read(offset: number, _width: number): number {
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        return dlab ? this.divisor & 0xff : this.readRbr();
      case IER_DLM:
        return dlab ? (this.divisor >>> 8) & 0xff : this.ier;
      case IIR_FCR: {
        const v = this.iir();
        if ((v & 0x0f) === IIR_THRE) this.threPending = false;
        return v;
      }
      case LCR:
        return this.lcr;
      case MCR:
        return this.mcr;
      case LSR:
        return LSR_THRE | LSR_TEMT | (this.rxLength > 0 ? LSR_DR : 0);
      case MSR:
        // Loopback wires MCR outputs to the modem inputs (16550 datasheet).
        if ((this.mcr & MCR_LOOP) !== 0) {
          const m = this.mcr;
          return ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
        }
        return MSR_IDLE;
      case SCR:
        return this.scr;
      default:
        return 0;
    }
  }

  /**
   * MMIO write of the low byte of `value` to the register at `offset`; a THR write transmits immediately, LSR and MSR
   * ignore writes.
   */
  write(offset: number, _width: number, value: number): void {
    value &= 0xff;
    const dlab = (this.lcr & LCR_DLAB) !== 0;
    switch (offset) {
      case RBR_THR_DLL:
        if (dlab) {
          this.divisor = (this.divisor & 0xff00) | value;
        } else {
          if ((this.mcr & MCR_LOOP) !== 0) this.rx.push(value);
          else this.onTransmit(value);
          this.threPending = (this.ier & IER_THRE) !== 0;
        }
        return;
      case IER_DLM:
        if (dlab) {
          this.divisor = (this.divisor & 0xff) | (value << 8);
        } else {
          // Enabling the THRE interrupt with an empty THR raises it at once.
          if ((value & IER_THRE) !== 0 && (this.ier & IER_THRE) === 0) this.threPending = true;
          this.ier = value & 0x0f;
          if ((this.ier & IER_THRE) === 0) this.threPending = false;
        }
        return;
      case IIR_FCR:
        // Toggling FIFO enable resets the FIFOs (16550 datasheet, and QEMU).
        if ((value & FCR_CLEAR_RX) !== 0 || ((value ^ this.fcr) & FCR_ENABLE) !== 0) {
          this.rx = [];
          this.rxHead = 0;
        }
        this.fcr = value & 0xc9;
        return;
      case LCR:
        this.lcr = value;
        return;
      case MCR:
        this.mcr = value & 0x1f;
        return;
      case SCR:
        this.scr = value;
        return;
      default:
        // LSR and MSR are read-only.
        return;
    }
  }

  private readRbr(): number {
    if (this.rxHead >= this.rx.length) return 0;
    const b = this.rx[this.rxHead++]!;
    if (this.rxHead === this.rx.length) {
      this.rx = [];
      this.rxHead = 0;
    }
    return b;
  }

  private fifoBits(): number {
    return (this.fcr & FCR_ENABLE) !== 0 ? IIR_FIFO : 0;
  }

  private iir(): number {
    let id = IIR_NONE;
    if ((this.ier & IER_RDA) !== 0 && this.rxLength > 0) id = IIR_RDA;
    else if (this.threPending) id = IIR_THRE;
    return id | this.fifoBits();
  }
}
