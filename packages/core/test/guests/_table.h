/* Edge operands shared by the instruction conformance guests. */
#ifndef CONFORMANCE_TABLE_H
#define CONFORMANCE_TABLE_H
#include <stdint.h>

static const uint32_t EDGE[] = {
  0x00000000, 0x00000001, 0x00000002, 0x0000001f, 0x00000020, 0x00000021, 0x0000007f,
  0x00000080, 0x000007ff, 0x00000800, 0x00007fff, 0x00008000, 0x0000ffff, 0x00010000,
  0x12345678, 0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xaaaaaaaa, 0xfedcba98,
  0xfffff800, 0xffff8000, 0xffffff80, 0xfffffffe, 0xffffffff,
};
#define NEDGE (sizeof EDGE / sizeof EDGE[0])

/* FNV-1a over 32-bit results: each op prints one line with a digest of its whole table,
   plus the first results in clear so a mismatch points somewhere. */
static inline uint32_t fnv(uint32_t h, uint32_t v)
{
  for (int i = 0; i < 4; i++) h = (h ^ ((v >> (8 * i)) & 0xff)) * 16777619u;
  return h;
}
#endif
