/*
 * coremark: a CoreMark-like workload mix written for rvisor (not EEMBC's code, not
 * comparable with published CoreMark scores). Each iteration runs
 *   - linked-list work: find, reverse and merge-sort a 64-node list
 *   - a 16x16 int16 matrix multiply with constant add and bit extraction
 *   - a state machine that classifies the tokens of a generated numeric text
 * and folds every result into a CRC-16, printed at the end with per-kernel checksums.
 * ITERS defaults to 24000; the first argument overrides.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint16_t crc16_byte(uint16_t crc, uint8_t b)
{
  /* CRC-16/CCITT-FALSE, bitwise: CoreMark also spends its time in a bitwise CRC */
  crc ^= (uint16_t)b << 8;
  for (int i = 0; i < 8; i++) crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  return crc;
}

static uint16_t crc16_u32(uint16_t crc, uint32_t v)
{
  for (int i = 0; i < 4; i++) crc = crc16_byte(crc, (uint8_t)(v >> (8 * i)));
  return crc;
}

/* ---- linked list ---- */

struct node {
  struct node *next;
  int16_t key;
  int16_t value;
};

#define LIST_N 64
static struct node pool[LIST_N];

static struct node *list_build(uint32_t seed)
{
  struct node *head = NULL;
  for (int i = 0; i < LIST_N; i++) {
    seed = seed * 1664525u + 1013904223u;
    pool[i].key = (int16_t)(seed >> 20);
    pool[i].value = (int16_t)i;
    pool[i].next = head;
    head = &pool[i];
  }
  return head;
}

static struct node *list_find(struct node *l, int16_t key)
{
  while (l && l->key != key) l = l->next;
  return l;
}

static struct node *list_reverse(struct node *l)
{
  struct node *prev = NULL;
  while (l) { struct node *n = l->next; l->next = prev; prev = l; l = n; }
  return prev;
}

static struct node *list_sort(struct node *l)
{
  /* bottom-up merge sort on a singly linked list, stable, no recursion */
  for (int k = 1;; k *= 2) {
    struct node *p = l, *tail = NULL, *head = NULL;
    int merges = 0;
    while (p) {
      merges++;
      struct node *q = p;
      int psize = 0, qsize = k;
      while (psize < k && q) { psize++; q = q->next; }
      while (psize > 0 || (qsize > 0 && q)) {
        struct node *e;
        if (psize == 0) { e = q; q = q->next; qsize--; }
        else if (qsize == 0 || !q || p->key <= q->key) { e = p; p = p->next; psize--; }
        else { e = q; q = q->next; qsize--; }
        if (tail) tail->next = e; else head = e;
        tail = e;
      }
      p = q;
    }
    tail->next = NULL;
    l = head;
    if (merges <= 1) return l;
  }
}

static uint16_t bench_list(uint32_t seed, uint16_t crc)
{
  struct node *l = list_build(seed);
  int found = 0;
  for (int i = 0; i < 16; i++) if (list_find(l, (int16_t)(pool[(i * 7) % LIST_N].key + (i & 1)))) found++;
  l = list_reverse(l);
  l = list_sort(l);
  int32_t acc = 0;
  for (struct node *n = l; n; n = n->next) acc = acc * 3 + n->key + n->value;
  crc = crc16_u32(crc, (uint32_t)found);
  return crc16_u32(crc, (uint32_t)acc);
}

/* ---- matrix ---- */

#define MN 16
static int16_t ma[MN][MN], mb[MN][MN];
static int32_t mc[MN][MN];

static uint16_t bench_matrix(uint32_t seed, uint16_t crc)
{
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      seed = seed * 1664525u + 1013904223u;
      ma[i][j] = (int16_t)(seed >> 16);
      mb[i][j] = (int16_t)(seed >> 8);
    }
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      int32_t s = 0;
      for (int k = 0; k < MN; k++) s += (int32_t)ma[i][k] * mb[k][j];
      mc[i][j] = s;
    }
  uint32_t acc = 0;
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      int32_t v = mc[i][j] + 7;
      acc += (uint32_t)((v >> 3) & 0xfff) ^ (uint32_t)(v < 0);
    }
  return crc16_u32(crc, acc);
}

/* ---- state machine ---- */

enum state { S_START, S_INT, S_FRAC, S_EXP_SIGN, S_EXP, S_SCI, S_INVALID, S_COUNT };

static enum state step(enum state s, char c)
{
  int digit = c >= '0' && c <= '9';
  switch (s) {
  case S_START:
    if (digit || c == '-' || c == '+') return S_INT;
    if (c == '.') return S_FRAC;
    return S_INVALID;
  case S_INT:
    if (digit) return S_INT;
    if (c == '.') return S_FRAC;
    if (c == 'e' || c == 'E') return S_EXP_SIGN;
    return S_INVALID;
  case S_FRAC:
    if (digit) return S_FRAC;
    if (c == 'e' || c == 'E') return S_EXP_SIGN;
    return S_INVALID;
  case S_EXP_SIGN:
    if (digit || c == '-' || c == '+') return S_EXP;
    return S_INVALID;
  case S_EXP:
    return digit ? S_SCI : S_INVALID;
  case S_SCI:
    return digit ? S_SCI : S_INVALID;
  default:
    return S_INVALID;
  }
}

static uint16_t bench_state(uint32_t seed, uint16_t crc)
{
  static const char alphabet[] = "0123456789012345678.+-eE.x,";
  char text[256];
  for (size_t i = 0; i < sizeof text - 1; i++) {
    seed = seed * 1664525u + 1013904223u;
    text[i] = alphabet[(seed >> 24) % (sizeof alphabet - 1)];
  }
  text[sizeof text - 1] = 0;
  uint32_t counts[S_COUNT] = { 0 };
  enum state s = S_START;
  for (const char *p = text; *p; p++) {
    if (*p == ',') { counts[s]++; s = S_START; continue; }
    s = step(s, *p);
  }
  counts[s]++;
  for (int i = 0; i < S_COUNT; i++) crc = crc16_u32(crc, counts[i]);
  return crc;
}

int main(int argc, char **argv)
{
  int iters = argc > 1 ? atoi(argv[1]) : 24000;
  uint16_t crc_list = 0, crc_matrix = 0, crc_state = 0, crc = 0xffff;
  for (int i = 0; i < iters; i++) {
    uint32_t seed = (uint32_t)i * 2654435761u;
    crc_list = bench_list(seed, crc_list);
    crc_matrix = bench_matrix(seed, crc_matrix);
    crc_state = bench_state(seed, crc_state);
  }
  crc = crc16_u32(crc, crc_list);
  crc = crc16_u32(crc, crc_matrix);
  crc = crc16_u32(crc, crc_state);
  printf("coremark-like: %d iterations, list %04x, matrix %04x, state %04x, crc %04x\n", iters,
         crc_list, crc_matrix, crc_state, crc);
  return 0;
}
