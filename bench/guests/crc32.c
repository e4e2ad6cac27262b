/*
 * crc32: table-driven CRC-32 (IEEE 802.3, reflected, as zlib) over MIB MiB of generated
 * bytes (default 80; the first argument overrides). Byte loads and table lookups.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t table[256];

static void make_table(void)
{
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
}

static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
  crc = ~crc;
  while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

int main(int argc, char **argv)
{
  unsigned mib = argc > 1 ? (unsigned)atoi(argv[1]) : 80;
  static uint8_t chunk[65536];
  uint32_t x = 12345u, crc = 0;
  make_table();
  /* "123456789" is the standard check value input: 0xcbf43926 */
  printf("crc32(\"123456789\") = %08lx\n", (unsigned long)crc32_update(0, (const uint8_t *)"123456789", 9));
  for (unsigned i = 0; i < mib * 16; i++) {
    for (size_t j = 0; j < sizeof chunk; j++) {
      x = x * 1103515245u + 12345u;
      chunk[j] = (uint8_t)(x >> 16);
    }
    crc = crc32_update(crc, chunk, sizeof chunk);
  }
  printf("crc32 of %u MiB LCG data = %08lx\n", mib, (unsigned long)crc);
  return 0;
}
