/*
 * isa (app profile): every RV32I and M computational instruction over a table of edge
 * operands, branches, jumps, lui/auipc, loads with sign/zero extension, stores of every
 * width, x0 as a destination, fences. Each line is one instruction and one first operand,
 * with a digest over all second operands (or immediates).
 */
#include <stdint.h>
#include <stdio.h>
#include "_table.h"

#define RR(op)                                                                  \
  static uint32_t op_##op(uint32_t a, uint32_t b)                               \
  {                                                                             \
    uint32_t r;                                                                 \
    __asm__ volatile(#op " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));             \
    return r;                                                                   \
  }
RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
RR(mul) RR(mulh) RR(mulhsu) RR(mulhu) RR(div) RR(divu) RR(rem) RR(remu)

struct rr { const char *name; uint32_t (*fn)(uint32_t, uint32_t); };
static const struct rr RRS[] = {
  { "add", op_add }, { "sub", op_sub }, { "sll", op_sll }, { "slt", op_slt },
  { "sltu", op_sltu }, { "xor", op_xor }, { "srl", op_srl }, { "sra", op_sra },
  { "or", op_or }, { "and", op_and }, { "mul", op_mul }, { "mulh", op_mulh },
  { "mulhsu", op_mulhsu }, { "mulhu", op_mulhu }, { "div", op_div }, { "divu", op_divu },
  { "rem", op_rem }, { "remu", op_remu },
};

/* I-type: the immediate must be a constant in the instruction, hence one asm per value */
#define I1(op, a, imm) ({ uint32_t r_; __asm__ volatile(#op " %0, %1, " #imm : "=r"(r_) : "r"(a)); r_; })
#define IMMS(op)                                                                \
  static uint32_t imm_##op(uint32_t a)                                          \
  {                                                                             \
    uint32_t h = 2166136261u;                                                   \
    h = fnv(h, I1(op, a, 0));     h = fnv(h, I1(op, a, 1));                     \
    h = fnv(h, I1(op, a, -1));    h = fnv(h, I1(op, a, 2047));                  \
    h = fnv(h, I1(op, a, -2048)); h = fnv(h, I1(op, a, 0x555));                 \
    h = fnv(h, I1(op, a, -0x556)); h = fnv(h, I1(op, a, 0x7f));                 \
    h = fnv(h, I1(op, a, -128));                                                \
    return h;                                                                   \
  }
#define SHAMTS(op)                                                              \
  static uint32_t imm_##op(uint32_t a)                                          \
  {                                                                             \
    uint32_t h = 2166136261u;                                                   \
    h = fnv(h, I1(op, a, 0));  h = fnv(h, I1(op, a, 1));                        \
    h = fnv(h, I1(op, a, 7));  h = fnv(h, I1(op, a, 16));                       \
    h = fnv(h, I1(op, a, 30)); h = fnv(h, I1(op, a, 31));                       \
    return h;                                                                   \
  }
IMMS(addi) IMMS(slti) IMMS(sltiu) IMMS(xori) IMMS(ori) IMMS(andi)
SHAMTS(slli) SHAMTS(srli) SHAMTS(srai)

struct ri { const char *name; uint32_t (*fn)(uint32_t); };
static const struct ri RIS[] = {
  { "addi", imm_addi }, { "slti", imm_slti }, { "sltiu", imm_sltiu }, { "xori", imm_xori },
  { "ori", imm_ori }, { "andi", imm_andi }, { "slli", imm_slli }, { "srli", imm_srli },
  { "srai", imm_srai },
};

/* Branches: one bit per condition, taken = 1 */
#define BR(op, a, b)                                                            \
  ({ uint32_t t_; __asm__ volatile("li %0, 1\n\t" #op " %1, %2, 1f\n\tli %0, 0\n1:"   \
                                   : "=&r"(t_) : "r"(a), "r"(b)); t_; })
static uint32_t branches(uint32_t a, uint32_t b)
{
  return BR(beq, a, b) | BR(bne, a, b) << 1 | BR(blt, a, b) << 2 | BR(bge, a, b) << 3 |
         BR(bltu, a, b) << 4 | BR(bgeu, a, b) << 5;
}

static void jumps(void)
{
  uint32_t r1, r2, r3, r4;
  /* link = address of the next instruction; jalr clears bit 0 of the target */
  __asm__ volatile("auipc t0, 0\n\tjal t1, 1f\n1:\tsub %0, t1, t0" : "=r"(r1) : : "t0", "t1");
  __asm__ volatile("la t2, 1f\n\taddi t2, t2, 1\n\tauipc t0, 0\n\tjalr t1, 0(t2)\n\tli t1, 0\n1:\tsub %0, t1, t0"
                   : "=r"(r2) : : "t0", "t1", "t2");
  /* rd == rs1: the target comes from the old value */
  __asm__ volatile("la t2, 1f + 8\n\tjalr t2, -8(t2)\n0:\tli t2, 0\n1:\tla t0, 0b\n\tsub %0, t2, t0"
                   : "=r"(r3) : : "t0", "t2");
  /* jal x0 is a plain jump; backwards jal */
  __asm__ volatile("li %0, 0\n\tj 2f\n1:\taddi %0, %0, 1\n\tj 3f\n2:\taddi %0, %0, 10\n\tjal x0, 1b\n3:"
                   : "=&r"(r4));
  printf("jal link-pc=%lu jalr(odd target) link-pc=%lu jalr rd==rs1 link-next=%ld jumps=%lu\n",
         (unsigned long)r1, (unsigned long)r2, (long)r3, (unsigned long)r4);
}

static void upper(void)
{
  uint32_t a, b, c, d;
  __asm__ volatile("lui %0, 0xfffff" : "=r"(a));
  __asm__ volatile("lui %0, 0x80000" : "=r"(b));
  __asm__ volatile("auipc t0, 0\n\tauipc t1, 0x1\n\tsub %0, t1, t0" : "=r"(c) : : "t0", "t1");
  __asm__ volatile("auipc t0, 0\n\tauipc t1, 0xfffff\n\tsub %0, t1, t0" : "=r"(d) : : "t0", "t1");
  printf("lui %08lx %08lx auipc deltas %08lx %08lx\n", (unsigned long)a, (unsigned long)b,
         (unsigned long)c, (unsigned long)d);
}

static void zero_register(void)
{
  uint32_t r;
  static volatile uint32_t word = 0xdeadbeef;
  __asm__ volatile("addi x0, x0, 5\n\tlui x0, 0x12345\n\tlw x0, 0(%1)\n\tmv %0, x0" : "=r"(r) : "r"(&word));
  printf("x0 after writes: %lu\n", (unsigned long)r);
}

static uint8_t mem[64] __attribute__((aligned(8)));

static void loads(void)
{
  static const uint8_t pattern[16] = { 0x00, 0x7f, 0x80, 0xff, 0x01, 0xfe, 0x55, 0xaa,
                                       0x78, 0x56, 0x34, 0x12, 0x00, 0x80, 0xff, 0x7f };
  for (int i = 0; i < 16; i++) mem[16 + i] = pattern[i];
  uint8_t *p = mem + 24; /* loads use negative and positive offsets from here */
  uint32_t h = 2166136261u;
#define LD(op, off) ({ uint32_t r_; __asm__ volatile(#op " %0, " #off "(%1)" : "=r"(r_) : "r"(p), "m"(mem)); r_; })
  printf("lb  %08lx %08lx %08lx %08lx\n", (unsigned long)LD(lb, -8), (unsigned long)LD(lb, -7),
         (unsigned long)LD(lb, -6), (unsigned long)LD(lb, -5));
  printf("lbu %08lx %08lx %08lx %08lx\n", (unsigned long)LD(lbu, -8), (unsigned long)LD(lbu, -7),
         (unsigned long)LD(lbu, -6), (unsigned long)LD(lbu, -5));
  printf("lh  %08lx %08lx %08lx %08lx\n", (unsigned long)LD(lh, -8), (unsigned long)LD(lh, -6),
         (unsigned long)LD(lh, 4), (unsigned long)LD(lh, 6));
  printf("lhu %08lx %08lx %08lx %08lx\n", (unsigned long)LD(lhu, -8), (unsigned long)LD(lhu, -6),
         (unsigned long)LD(lhu, 4), (unsigned long)LD(lhu, 6));
  printf("lw  %08lx %08lx %08lx %08lx\n", (unsigned long)LD(lw, -8), (unsigned long)LD(lw, -4),
         (unsigned long)LD(lw, 0), (unsigned long)LD(lw, 4));
  for (int i = 0; i < 16; i++) h = fnv(h, (uint32_t)(int32_t)(int8_t)mem[16 + i]);
  printf("pattern digest %08lx\n", (unsigned long)h);
}

static void stores(void)
{
  uint32_t *w = (uint32_t *)(mem + 32);
  for (int i = 0; i < 4; i++) w[i] = 0x11111111u * (uint32_t)(i + 1);
  uint8_t *p = mem + 40;
  uint32_t v = 0x89abcdef;
  __asm__ volatile("sb %1, -8(%0)\n\tsb %1, -5(%0)\n\tsh %1, -2(%0)\n\tsw %1, 4(%0)\n\tsh %1, 2(%0)\n\tsb %1, 1(%0)"
                   : : "r"(p), "r"(v) : "memory");
  printf("after stores: %08lx %08lx %08lx %08lx\n", (unsigned long)w[0], (unsigned long)w[1],
         (unsigned long)w[2], (unsigned long)w[3]);
}

int main(void)
{
  for (size_t k = 0; k < sizeof RRS / sizeof RRS[0]; k++)
    for (size_t i = 0; i < NEDGE; i++) {
      uint32_t h = 2166136261u;
      for (size_t j = 0; j < NEDGE; j++) h = fnv(h, RRS[k].fn(EDGE[i], EDGE[j]));
      printf("%-6s %08lx: %08lx [%08lx %08lx]\n", RRS[k].name, (unsigned long)EDGE[i], (unsigned long)h,
             (unsigned long)RRS[k].fn(EDGE[i], EDGE[(i + 7) % NEDGE]),
             (unsigned long)RRS[k].fn(EDGE[i], EDGE[(i + 17) % NEDGE]));
    }
  for (size_t k = 0; k < sizeof RIS / sizeof RIS[0]; k++)
    for (size_t i = 0; i < NEDGE; i++)
      printf("%-6s %08lx: %08lx\n", RIS[k].name, (unsigned long)EDGE[i], (unsigned long)RIS[k].fn(EDGE[i]));
  for (size_t i = 0; i < NEDGE; i++) {
    uint32_t h = 2166136261u;
    for (size_t j = 0; j < NEDGE; j++) h = fnv(h, branches(EDGE[i], EDGE[j]));
    printf("branch %08lx: %08lx\n", (unsigned long)EDGE[i], (unsigned long)h);
  }
  jumps();
  upper();
  zero_register();
  loads();
  stores();
  __asm__ volatile("fence\n\tfence rw, rw\n\tfence r, r\n\tfence.tso\n\tfence.i" ::: "memory");
  printf("fences ok\n");
  return 0;
}
