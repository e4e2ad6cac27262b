/* Linux RV32 syscalls for freestanding test guests (app profile and qemu-riscv32). */
#define SYS_read 63
#define SYS_write 64
#define SYS_exit 93

static inline long sys3(long n, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

static inline unsigned slen(const char *s) {
  unsigned n = 0;
  while (s[n]) n++;
  return n;
}

static inline void puts_fd(int fd, const char *s) { sys3(SYS_write, fd, (long)s, slen(s)); }

static inline void __attribute__((noreturn)) exit_(int code) {
  sys3(SYS_exit, code, 0, 0);
  for (;;) {}
}

/* The Linux initial stack: argc, argv[], NULL, envp[], NULL, auxv. */
#define ENTRY(fn) \
  __asm__(".globl _start\n_start:\n  mv a0, sp\n  call " #fn "\n1: j 1b\n")
