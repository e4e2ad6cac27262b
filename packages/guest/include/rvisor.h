/*
 * rvisor guest SDK: hypercall ABI and machine-profile device map.
 *
 * Two partition profiles run the same RV32IMAC interpreter:
 *
 *   app      The image starts in U-mode at its ELF entry on a Linux-style initial stack.
 *            `ecall` is a hypercall: a7 = number, a0..a5 = arguments, result in a0,
 *            a negative errno on failure. Numbers below 0x400 are the Linux RV32 syscall
 *            numbers, so a static freestanding program that only uses those runs unchanged
 *            under `qemu-riscv32`. Numbers from 0x400 up are rvisor's own.
 *   machine  Full system: the image starts in M-mode at its ELF entry with the core devices
 *            of QEMU's `virt` machine (RV_UART_BASE, RV_CLINT_BASE, RV_FINISHER_BASE), so
 *            the same firmware runs on `qemu-system-riscv32 -machine virt -bios none`.
 *
 * Header-only; C99 or later; no dependency on a C library.
 */
#ifndef RVISOR_H
#define RVISOR_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * app profile: Linux RV32 syscall numbers (served by the VM; QEMU user mode has them too)
 * ------------------------------------------------------------------------------------- */

#define RV_SYS_READ                   63   /* read(fd, buf, len): fd 0 = partition stdin      */
#define RV_SYS_WRITE                  64   /* write(fd, buf, len): fd 1 = stdout, 2 = stderr  */
#define RV_SYS_EXIT                   93   /* exit(code): the partition stops with `code`     */
#define RV_SYS_EXIT_GROUP             94   /* exit_group(code): same as exit (one hart)       */
#define RV_SYS_BRK                   214   /* brk(addr): returns the new break, or the old one
                                              when the request cannot be met; brk(0) queries */
#define RV_SYS_CLOCK_GETTIME64       403   /* clock_gettime64(clockid, struct rv_timespec64*) */
#define RV_SYS_CLOCK_NANOSLEEP_TIME64 407  /* clock_nanosleep_time64(clockid, flags, req, rem):
                                              sleeps and gives the CPU back to the schedule  */

#define RV_CLOCK_REALTIME  0
#define RV_CLOCK_MONOTONIC 1
#define RV_TIMER_ABSTIME   1

/* Linux errno values returned (negated) in a0. */
#define RV_EPERM    1
#define RV_ENOENT   2
#define RV_EINTR    4
#define RV_EBADF    9
#define RV_EAGAIN  11
#define RV_ENOMEM  12
#define RV_EFAULT  14
#define RV_EINVAL  22
#define RV_ENOSYS  38
#define RV_EMSGSIZE 90
#define RV_ETIMEDOUT 110

/* RV32 Linux has only 64-bit time calls; this is the kernel's `struct __kernel_timespec`. */
struct rv_timespec64 {
  int64_t tv_sec;
  int64_t tv_nsec;
};

/* ---------------------------------------------------------------------------------------
 * app profile: rvisor hypercalls (a7 >= 0x400)
 *
 * SERVED BY THE HYPERVISOR LAYER (packages/core/src/hypervisor/hypercalls.ts), for
 * partitions that a Hypervisor runs. A bare VirtualMachine (e.g. `rvisor run` of a single
 * image) and qemu-riscv32 answer -RV_ENOSYS to every one of them, so a guest that must also
 * run there checks for -RV_ENOSYS. Buffers must lie in the partition's own RAM, else
 * -RV_EFAULT. Channel numbers are the ids the partition's configuration gives its ports.
 * ------------------------------------------------------------------------------------- */

/* () -> partition id (a small integer >= 0). */
#define RV_HC_PARTITION_ID      0x400
/* () -> 0. Ends the partition's current window early; it resumes in its next window. */
#define RV_HC_YIELD             0x401
/* () -> why this run began (ARINC 653 START_CONDITION), one of RV_START_*. */
#define RV_HC_START_CONDITION   0x402
#define RV_START_NORMAL         0  /* first start */
#define RV_START_RESTART        1  /* restarted by the embedder */
#define RV_START_HEALTH_RESTART 2  /* restarted by the health monitor after a fault */
#define RV_START_HEALTH_RESTORE 3  /* restored from its last snapshot by the health monitor */
#define RV_START_RESTORED       4  /* restored from a snapshot */
#define RV_START_MIGRATED       5  /* resumed on this gateway after a migration */
/* (channel, buf, len) -> 0 on a queuing port; -RV_EAGAIN when the queue is full,
 * -RV_EMSGSIZE when len exceeds the channel's message size, -RV_ENOENT for an unknown
 * channel or one this partition may not send on, -RV_EINVAL for a sampling channel. */
#define RV_HC_CHAN_SEND         0x410
/* (channel, buf, cap, timeout_us) -> message length; -RV_ETIMEDOUT when nothing arrived
 * within timeout_us (0 = poll, RV_CHAN_WAIT_FOREVER = no limit); -RV_EMSGSIZE when the next
 * message is larger than cap (it stays queued). While it waits the partition gives the CPU
 * back; the call completes in a later window. */
#define RV_HC_CHAN_RECV         0x411
/* (channel, buf, cap) -> length of the latest sample, 0 when none was written yet; a1 = 1
 * when the sample is fresh (within the port's refresh period), 0 when stale. Never blocks. */
#define RV_HC_CHAN_READ_SAMPLE  0x412
/* (channel, buf, len) -> 0; replaces the sampling port's value. Errors as RV_HC_CHAN_SEND. */
#define RV_HC_CHAN_WRITE_SAMPLE 0x413
/* (topic, topic_len, buf, len) -> 0; publishes bytes on the partition's telemetry stream
 * (the fleet agent forwards it to MQTT). topic_len 1..64, len <= 4096, else -RV_EINVAL. */
#define RV_HC_TELEMETRY         0x420

#define RV_CHAN_WAIT_FOREVER 0xFFFFFFFFu

/* ---------------------------------------------------------------------------------------
 * Raw hypercall
 * ------------------------------------------------------------------------------------- */

static inline long rv_hypercall6(long n, long a0, long a1, long a2, long a3, long a4, long a5)
{
  register long r_a0 __asm__("a0") = a0;
  register long r_a1 __asm__("a1") = a1;
  register long r_a2 __asm__("a2") = a2;
  register long r_a3 __asm__("a3") = a3;
  register long r_a4 __asm__("a4") = a4;
  register long r_a5 __asm__("a5") = a5;
  register long r_a7 __asm__("a7") = n;
  __asm__ volatile("ecall"
                   : "+r"(r_a0)
                   : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a5), "r"(r_a7)
                   : "memory");
  return r_a0;
}

static inline long rv_hypercall0(long n) { return rv_hypercall6(n, 0, 0, 0, 0, 0, 0); }
static inline long rv_hypercall1(long n, long a0) { return rv_hypercall6(n, a0, 0, 0, 0, 0, 0); }
static inline long rv_hypercall3(long n, long a0, long a1, long a2)
{
  return rv_hypercall6(n, a0, a1, a2, 0, 0, 0);
}
static inline long rv_hypercall4(long n, long a0, long a1, long a2, long a3)
{
  return rv_hypercall6(n, a0, a1, a2, a3, 0, 0);
}

/* ---------------------------------------------------------------------------------------
 * app profile wrappers
 * ------------------------------------------------------------------------------------- */

static inline long rv_read(int fd, void *buf, size_t len)
{
  return rv_hypercall3(RV_SYS_READ, fd, (long)buf, (long)len);
}
static inline long rv_write(int fd, const void *buf, size_t len)
{
  return rv_hypercall3(RV_SYS_WRITE, fd, (long)buf, (long)len);
}
static inline __attribute__((noreturn)) void rv_exit(int code)
{
  rv_hypercall1(RV_SYS_EXIT, code);
  for (;;) { }
}
static inline long rv_brk(void *addr) { return rv_hypercall1(RV_SYS_BRK, (long)addr); }
static inline long rv_clock_gettime(int clock, struct rv_timespec64 *ts)
{
  return rv_hypercall3(RV_SYS_CLOCK_GETTIME64, clock, (long)ts, 0);
}
/* Relative sleep on the monotonic clock; the partition's CPU time goes to others. */
static inline long rv_sleep_ns(int64_t ns)
{
  struct rv_timespec64 req = { ns / 1000000000, ns % 1000000000 };
  return rv_hypercall4(RV_SYS_CLOCK_NANOSLEEP_TIME64, RV_CLOCK_MONOTONIC, 0, (long)&req, 0);
}

static inline long rv_partition_id(void) { return rv_hypercall0(RV_HC_PARTITION_ID); }
static inline long rv_yield(void) { return rv_hypercall0(RV_HC_YIELD); }
static inline long rv_start_condition(void) { return rv_hypercall0(RV_HC_START_CONDITION); }
static inline long rv_chan_send(int chan, const void *buf, size_t len)
{
  return rv_hypercall3(RV_HC_CHAN_SEND, chan, (long)buf, (long)len);
}
static inline long rv_chan_recv(int chan, void *buf, size_t cap, uint32_t timeout_us)
{
  return rv_hypercall4(RV_HC_CHAN_RECV, chan, (long)buf, (long)cap, (long)timeout_us);
}
/* `fresh` (may be NULL) receives a1: 1 = the sample is within its refresh period. */
static inline long rv_chan_read_sample(int chan, void *buf, size_t cap, int *fresh)
{
  register long r_a0 __asm__("a0") = chan;
  register long r_a1 __asm__("a1") = (long)buf;
  register long r_a2 __asm__("a2") = (long)cap;
  register long r_a7 __asm__("a7") = RV_HC_CHAN_READ_SAMPLE;
  __asm__ volatile("ecall" : "+r"(r_a0), "+r"(r_a1) : "r"(r_a2), "r"(r_a7) : "memory");
  if (fresh) *fresh = (int)r_a1;
  return r_a0;
}
static inline long rv_chan_write_sample(int chan, const void *buf, size_t len)
{
  return rv_hypercall3(RV_HC_CHAN_WRITE_SAMPLE, chan, (long)buf, (long)len);
}
static inline long rv_telemetry(const char *topic, size_t topic_len, const void *buf, size_t len)
{
  return rv_hypercall4(RV_HC_TELEMETRY, (long)topic, (long)topic_len, (long)buf, (long)len);
}

/* ---------------------------------------------------------------------------------------
 * machine profile: device map (QEMU `virt` compatible)
 * ------------------------------------------------------------------------------------- */

#define RV_RAM_BASE        0x80000000u

/* NS16550A UART; registers are bytes at stride 1. */
#define RV_UART_BASE       0x10000000u
#define RV_UART_RBR        0x0   /* receive buffer (read)  */
#define RV_UART_THR        0x0   /* transmit holding (write) */
#define RV_UART_IER        0x1
#define RV_UART_LSR        0x5
#define RV_UART_LSR_DR     0x01  /* a received byte is waiting */
#define RV_UART_LSR_THRE   0x20  /* the transmitter takes another byte */

/* CLINT: mtime runs at 10 MHz on both QEMU virt and rvisor. */
#define RV_CLINT_BASE      0x02000000u
#define RV_CLINT_MSIP      (RV_CLINT_BASE + 0x0000u)  /* 32-bit, bit 0 = machine software irq */
#define RV_CLINT_MTIMECMP  (RV_CLINT_BASE + 0x4000u)  /* 64-bit, low word first */
#define RV_CLINT_MTIME     (RV_CLINT_BASE + 0xBFF8u)  /* 64-bit */
#define RV_MTIME_HZ        10000000u

/* SiFive test finisher: a 32-bit store powers the machine off. */
#define RV_FINISHER_BASE   0x00100000u
#define RV_FINISHER_PASS   0x5555u                              /* exit code 0      */
#define RV_FINISHER_FAIL(code) (0x3333u | ((uint32_t)(code) << 16)) /* exit code `code` */
#define RV_FINISHER_RESET  0x7777u

/* HTIF: firmware that defines a global `tohost` symbol (riscv-tests style) may stop rvisor
 * by storing (code << 1) | 1 there; 1 means pass. QEMU `virt` has no HTIF. */
#define RV_HTIF_EXIT(code) (((uint32_t)(code) << 1) | 1u)

/* Trap causes (mcause) and CSR bits that machine-profile firmware uses. */
#define RV_CAUSE_INTERRUPT        0x80000000u
#define RV_CAUSE_MISALIGNED_FETCH 0
#define RV_CAUSE_FETCH_ACCESS     1
#define RV_CAUSE_ILLEGAL          2
#define RV_CAUSE_BREAKPOINT       3
#define RV_CAUSE_MISALIGNED_LOAD  4
#define RV_CAUSE_LOAD_ACCESS      5
#define RV_CAUSE_MISALIGNED_STORE 6
#define RV_CAUSE_STORE_ACCESS     7
#define RV_CAUSE_ECALL_U          8
#define RV_CAUSE_ECALL_M          11
#define RV_IRQ_MSI                3
#define RV_IRQ_MTI                7
#define RV_IRQ_MEI                11
#define RV_MSTATUS_MIE   (1u << 3)
#define RV_MSTATUS_MPIE  (1u << 7)
#define RV_MSTATUS_MPP   (3u << 11)
#define RV_MIE_MSIE      (1u << 3)
#define RV_MIE_MTIE      (1u << 7)
#define RV_MIE_MEIE      (1u << 11)

#define RV_MMIO32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define RV_MMIO8(addr)  (*(volatile uint8_t *)(uintptr_t)(addr))

#define RV_CSR_READ(csr) __extension__({                         \
  unsigned long rv_v_;                                           \
  __asm__ volatile("csrr %0, " #csr : "=r"(rv_v_));              \
  rv_v_; })
#define RV_CSR_WRITE(csr, v) __asm__ volatile("csrw " #csr ", %0" : : "r"((unsigned long)(v)))
#define RV_CSR_SET(csr, v)   __asm__ volatile("csrs " #csr ", %0" : : "r"((unsigned long)(v)))
#define RV_CSR_CLEAR(csr, v) __asm__ volatile("csrc " #csr ", %0" : : "r"((unsigned long)(v)))

static inline void rv_uart_putc(char c)
{
  while ((RV_MMIO8(RV_UART_BASE + RV_UART_LSR) & RV_UART_LSR_THRE) == 0) { }
  RV_MMIO8(RV_UART_BASE + RV_UART_THR) = (uint8_t)c;
}

/* Reads mtime without tearing: the high word is re-read until it is stable. */
static inline uint64_t rv_mtime(void)
{
  uint32_t hi, lo;
  do {
    hi = RV_MMIO32(RV_CLINT_MTIME + 4);
    lo = RV_MMIO32(RV_CLINT_MTIME);
  } while (hi != RV_MMIO32(RV_CLINT_MTIME + 4));
  return ((uint64_t)hi << 32) | lo;
}

/* Writes mtimecmp so that no spurious interrupt fires between the two halves. */
static inline void rv_set_mtimecmp(uint64_t t)
{
  RV_MMIO32(RV_CLINT_MTIMECMP + 4) = 0xFFFFFFFFu;
  RV_MMIO32(RV_CLINT_MTIMECMP) = (uint32_t)t;
  RV_MMIO32(RV_CLINT_MTIMECMP + 4) = (uint32_t)(t >> 32);
}

static inline __attribute__((noreturn)) void rv_poweroff(int code)
{
  RV_MMIO32(RV_FINISHER_BASE) = code == 0 ? RV_FINISHER_PASS : RV_FINISHER_FAIL(code);
  for (;;) __asm__ volatile("wfi");
}

#ifdef __cplusplus
}
#endif

#endif /* RVISOR_H */
