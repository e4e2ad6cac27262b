/*
 * syscalls (app profile): the Linux RV32 calls the app profile serves, checked the way
 * qemu-riscv32 and rvisor must agree: argv/envp/auxv on the initial stack, write to both
 * streams, read of stdin up to EOF, brk growth, clock_gettime64, clock_nanosleep_time64,
 * -ENOSYS for an unknown number, and the exit code of main.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "rvisor.h"

extern char _end[];
extern char **environ;

#define AT_NULL 0
#define AT_PAGESZ 6

static int64_t ns(const struct rv_timespec64 *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

int main(int argc, char **argv, char **envp)
{
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++) printf("argv[%d]=\"%s\"\n", i, argv[i]);
  printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");
  int envc = 0;
  while (envp[envc]) envc++;
  printf("envc=%d environ==envp: %s\n", envc, environ == envp ? "yes" : "no");
  for (int i = 0; i < envc; i++) printf("env[%d]=\"%s\"\n", i, envp[i]);
  uint32_t *aux = (uint32_t *)(envp + envc + 1);
  long pagesz = -1;
  for (int i = 0; i < 64 && aux[2 * i] != AT_NULL; i++)
    if (aux[2 * i] == AT_PAGESZ) pagesz = (long)aux[2 * i + 1];
  printf("auxv AT_PAGESZ=%ld\n", pagesz);

  /* write: full length, zero length, bad descriptor */
  static const char line[] = "raw write to fd 1\n";
  fflush(stdout);
  printf("write returned %ld\n", rv_write(1, line, sizeof line - 1));
  printf("write len 0 returned %ld\n", rv_write(1, line, 0));
  printf("write fd 99 returned %ld\n", rv_write(99, line, 4));
  fprintf(stderr, "a line on stderr\n");

  /* read stdin to EOF; echo it upper-cased with a byte count */
  char buf[512];
  long total = 0, n;
  uint32_t sum = 0;
  while ((n = rv_read(0, buf + total, sizeof buf - 1 - (size_t)total)) > 0) total += n;
  for (long i = 0; i < total; i++) {
    sum = sum * 31 + (uint8_t)buf[i];
    if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 32);
  }
  buf[total] = 0;
  printf("stdin: %ld bytes, last read %ld, hash %08lx\n%s\n", total, n, (unsigned long)sum, buf);
  printf("read at EOF returned %ld\n", rv_read(0, buf, 16));

  /* brk: query, grow, use, shrink; a request below the start leaves the break alone */
  uintptr_t b0 = (uintptr_t)rv_brk(0);
  printf("brk(0) >= _end: %s\n", b0 >= (uintptr_t)_end ? "yes" : "no");
  uintptr_t want = b0 + 0x20000;
  uintptr_t b1 = (uintptr_t)rv_brk((void *)want);
  printf("brk grow 128 KiB: %s\n", b1 == want ? "ok" : "FAILED");
  memset((void *)b0, 0x5a, 0x20000);
  printf("new heap writable: %s\n", ((volatile uint8_t *)b0)[0x1ffff] == 0x5a ? "yes" : "no");
  printf("brk(0) after grow is the new break: %s\n", (uintptr_t)rv_brk(0) == want ? "yes" : "no");
  uintptr_t b2 = (uintptr_t)rv_brk((void *)(b0 + 0x10000));
  printf("brk shrink: %s\n", b2 == b0 + 0x10000 ? "ok" : "FAILED");
  printf("brk(1) keeps the break: %s\n", (uintptr_t)rv_brk((void *)1) == b0 + 0x10000 ? "yes" : "no");

  /* clocks */
  struct rv_timespec64 t0, t1, t2, req = { 0, 2000000 };
  long r0 = rv_clock_gettime(RV_CLOCK_MONOTONIC, &t0);
  long r1 = rv_clock_gettime(RV_CLOCK_MONOTONIC, &t1);
  printf("clock_gettime64 monotonic: %ld %ld, non-decreasing: %s, nsec < 1e9: %s\n", r0, r1,
         ns(&t1) >= ns(&t0) ? "yes" : "no", t1.tv_nsec < 1000000000 ? "yes" : "no");
  struct rv_timespec64 rt;
  long rr = rv_clock_gettime(RV_CLOCK_REALTIME, &rt);
  printf("clock_gettime64 realtime: %ld, nsec < 1e9: %s\n", rr, rt.tv_nsec < 1000000000 ? "yes" : "no");
  long rs = rv_hypercall4(RV_SYS_CLOCK_NANOSLEEP_TIME64, RV_CLOCK_MONOTONIC, 0, (long)&req, 0);
  rv_clock_gettime(RV_CLOCK_MONOTONIC, &t2);
  printf("clock_nanosleep_time64 2 ms: %ld, slept >= 2 ms: %s\n", rs, ns(&t2) - ns(&t1) >= 2000000 ? "yes" : "no");
  struct rv_timespec64 abs = { t2.tv_sec, t2.tv_nsec }, t3;
  abs.tv_nsec += 1000000;
  if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
  long ra = rv_hypercall4(RV_SYS_CLOCK_NANOSLEEP_TIME64, RV_CLOCK_MONOTONIC, RV_TIMER_ABSTIME, (long)&abs, 0);
  rv_clock_gettime(RV_CLOCK_MONOTONIC, &t3);
  printf("clock_nanosleep_time64 absolute: %ld, reached deadline: %s\n", ra, ns(&t3) >= ns(&abs) ? "yes" : "no");

  /* the SDK's POSIX layer on the same calls */
  fflush(stdout);
  printf("posix write: %ld\n", (long)write(1, "via write()\n", 12));
  printf("posix time() after 2020: %s, usleep: %d\n", time(NULL) > 1577836800 ? "yes" : "no", usleep(1500));

  printf("unknown syscall 0x7ff: %ld\n", rv_hypercall0(0x7ff));
  printf("exiting with 42\n");
  return 42;
}
