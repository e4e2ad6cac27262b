/*
 * compressed (app profile, rv32imac only): each RVC instruction written out explicitly
 * (c.* mnemonics), over edge operands and immediate extremes, so none of them depends on
 * what the compiler happens to emit.
 */
#include <stdint.h>
#include <stdio.h>
#include "_table.h"

#ifndef __riscv_compressed
#error "compressed.c needs MARCH=rv32imac"
#endif

/* c.<op> a0, a1 on x8..x15 registers */
#define CRR(op)                                                                  \
  static uint32_t c_##op(uint32_t a, uint32_t b)                                 \
  {                                                                              \
    register uint32_t ra_ __asm__("a0") = a;                                     \
    register uint32_t rb_ __asm__("a1") = b;                                     \
    __asm__ volatile("c." #op " a0, a1" : "+r"(ra_) : "r"(rb_));                 \
    return ra_;                                                                  \
  }
CRR(add) CRR(sub) CRR(and) CRR(or) CRR(xor) CRR(mv)

#define CI(op, a, imm) ({ register uint32_t r_ __asm__("a0") = (a); \
  __asm__ volatile("c." #op " a0, " #imm : "+r"(r_)); r_; })
#define CI0(op, imm) ({ register uint32_t r_ __asm__("a0"); \
  __asm__ volatile("c." #op " a0, " #imm : "=r"(r_)); r_; })

int main(void)
{
  static const struct { const char *name; uint32_t (*fn)(uint32_t, uint32_t); } RRS[] = {
    { "c.add", c_add }, { "c.sub", c_sub }, { "c.and", c_and }, { "c.or", c_or },
    { "c.xor", c_xor }, { "c.mv", c_mv },
  };
  for (size_t k = 0; k < sizeof RRS / sizeof RRS[0]; k++) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < NEDGE; i++)
      for (size_t j = 0; j < NEDGE; j++) h = fnv(h, RRS[k].fn(EDGE[i], EDGE[j]));
    printf("%-8s %08lx\n", RRS[k].name, (unsigned long)h);
  }
  for (size_t i = 0; i < NEDGE; i++) {
    uint32_t a = EDGE[i];
    printf("a=%08lx addi %08lx %08lx %08lx andi %08lx %08lx %08lx\n", (unsigned long)a,
           (unsigned long)CI(addi, a, 1), (unsigned long)CI(addi, a, -32), (unsigned long)CI(addi, a, 31),
           (unsigned long)CI(andi, a, 0), (unsigned long)CI(andi, a, -32), (unsigned long)CI(andi, a, 31));
    printf("  slli %08lx %08lx srli %08lx %08lx srai %08lx %08lx %08lx\n",
           (unsigned long)CI(slli, a, 1), (unsigned long)CI(slli, a, 31), (unsigned long)CI(srli, a, 1),
           (unsigned long)CI(srli, a, 31), (unsigned long)CI(srai, a, 1), (unsigned long)CI(srai, a, 17),
           (unsigned long)CI(srai, a, 31));
  }
  printf("c.li %08lx %08lx %08lx\n", (unsigned long)CI0(li, 0), (unsigned long)CI0(li, -32),
         (unsigned long)CI0(li, 31));
  printf("c.lui %08lx %08lx %08lx %08lx\n", (unsigned long)CI0(lui, 1), (unsigned long)CI0(lui, 31),
         (unsigned long)CI0(lui, 0xfffe0), (unsigned long)CI0(lui, 0xfffff));

  /* stack-pointer forms: c.addi16sp, c.addi4spn, c.lwsp, c.swsp */
  uint32_t d1, d2, d3, d4, v1, v2;
  __asm__ volatile("mv t0, sp\n\tc.addi16sp sp, -512\n\tsub %0, t0, sp\n\tc.addi16sp sp, 496\n\t"
                   "c.addi16sp sp, 16\n\tsub %1, t0, sp" : "=r"(d1), "=r"(d2) : : "t0", "memory");
  {
    register uint32_t r_ __asm__("a0");
    __asm__ volatile("c.addi4spn a0, sp, 4\n\tsub %0, a0, sp" : "=r"(d3), "=r"(r_));
    __asm__ volatile("c.addi4spn a0, sp, 1020\n\tsub %0, a0, sp" : "=r"(d4), "=r"(r_));
  }
  printf("c.addi16sp deltas %ld %ld c.addi4spn %lu %lu\n", (long)d1, (long)d2, (unsigned long)d3, (unsigned long)d4);
  __asm__ volatile("c.addi16sp sp, -256\n\tli t0, 0x1234abcd\n\tc.swsp t0, 252(sp)\n\tli t0, 0x55\n\tc.swsp t0, 0(sp)\n\t"
                   "c.lwsp %0, 252(sp)\n\tc.lwsp %1, 0(sp)\n\tc.addi16sp sp, 256"
                   : "=r"(v1), "=r"(v2) : : "t0", "memory");
  printf("c.lwsp/c.swsp %08lx %08lx\n", (unsigned long)v1, (unsigned long)v2);

  /* c.lw / c.sw with the largest offset */
  static uint32_t buf[32];
  {
    register uint32_t *p __asm__("a2") = buf;
    register uint32_t v __asm__("a3") = 0xcafef00d;
    register uint32_t w __asm__("a4");
    __asm__ volatile("c.sw a3, 124(a2)\n\tc.sw a3, 0(a2)\n\tc.lw a4, 124(a2)" : "=r"(w) : "r"(p), "r"(v) : "memory");
    printf("c.lw/c.sw %08lx %08lx %08lx\n", (unsigned long)w, (unsigned long)buf[31], (unsigned long)buf[0]);
  }

  /* control transfer */
  uint32_t j1, j2, j3, j4, b1, b2;
  __asm__ volatile("li %0, 0\n\tc.j 1f\n\taddi %0, %0, 1\n1:\taddi %0, %0, 2" : "=&r"(j1));
  __asm__ volatile("c.jal 1f\n0:\tc.j 2f\n1:\tla t0, 0b\n\tsub %0, ra, t0\n\tc.jr ra\n2:" : "=&r"(j2) : : "t0", "ra");
  __asm__ volatile("la t1, 1f\n\tc.jalr t1\n0:\tc.j 2f\n1:\tla t0, 0b\n\tsub %0, ra, t0\n\tret\n2:" : "=&r"(j3) : : "t0", "t1", "ra");
  __asm__ volatile("la t1, 1f\n\tli %0, 5\n\tc.jr t1\n\tli %0, 6\n1:" : "=&r"(j4) : : "t1");
  {
    register uint32_t z __asm__("a0") = 0;
    register uint32_t nz __asm__("a1") = 0x80000000u;
    __asm__ volatile("li %0, 0\n\tc.beqz a0, 1f\n\tori %0, %0, 1\n1:\tc.beqz a1, 2f\n\tori %0, %0, 2\n2:"
                     : "=&r"(b1) : "r"(z), "r"(nz));
    __asm__ volatile("li %0, 0\n\tc.bnez a0, 1f\n\tori %0, %0, 1\n1:\tc.bnez a1, 2f\n\tori %0, %0, 2\n2:"
                     : "=&r"(b2) : "r"(z), "r"(nz));
  }
  printf("c.j %lu c.jal link-next %lu c.jalr link-next %lu c.jr %lu c.beqz %lu c.bnez %lu\n",
         (unsigned long)j1, (unsigned long)j2, (unsigned long)j3, (unsigned long)j4, (unsigned long)b1,
         (unsigned long)b2);
  __asm__ volatile("c.nop\n\tc.nop");
  /* a 32-bit instruction straddling a 4-byte boundary after a compressed one */
  uint32_t s;
  __asm__ volatile(".balign 4\n\tc.nop\n\tli %0, 0x12345\n\taddi %0, %0, 1" : "=r"(s));
  printf("straddling %08lx\n", (unsigned long)s);
  return 0;
}
