/*
 * sort: quicksort and mergesort of N pseudo-random ints (default 800000; the first
 * argument overrides), verified sorted and identical, plus a position-weighted checksum.
 * Branchy, memory-heavy code with data-dependent control flow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quicksort(int32_t *a, int lo, int hi)
{
  while (lo < hi) {
    int32_t p = a[lo + (hi - lo) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) { int32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
    }
    /* recurse into the smaller half so the stack stays O(log n) */
    if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; }
    else { quicksort(a, i, hi); hi = j; }
  }
}

static void mergesort(int32_t *a, int32_t *tmp, int n)
{
  for (int width = 1; width < n; width *= 2) {
    for (int lo = 0; lo < n; lo += 2 * width) {
      int mid = lo + width < n ? lo + width : n;
      int hi = lo + 2 * width < n ? lo + 2 * width : n;
      int i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, (size_t)n * sizeof *a);
  }
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 800000;
  int32_t *a = malloc((size_t)n * sizeof *a);
  int32_t *b = malloc((size_t)n * sizeof *b);
  int32_t *tmp = malloc((size_t)n * sizeof *tmp);
  if (!a || !b || !tmp) { printf("out of memory for n=%d\n", n); return 1; }
  uint32_t x = 88172645u;
  for (int i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    a[i] = b[i] = (int32_t)x;
  }
  quicksort(a, 0, n - 1);
  mergesort(b, tmp, n);
  int ok = 1;
  uint32_t sum = 0;
  for (int i = 0; i < n; i++) {
    if (i && a[i - 1] > a[i]) ok = 0;
    if (a[i] != b[i]) ok = 0;
    sum = sum * 31u + (uint32_t)a[i];
  }
  printf("sorted %d ints: %s, min %ld, max %ld, checksum %08lx\n", n, ok ? "ok" : "MISMATCH",
         (long)a[0], (long)a[n - 1], (unsigned long)sum);
  return ok ? 0 : 1;
}
