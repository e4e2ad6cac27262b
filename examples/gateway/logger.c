/* Logger partition: prints every averaged reading it receives on channel 1. */
#include <stdio.h>
#include <stdint.h>
#include "rvisor.h"

struct reading { int32_t seq; int32_t milli; };

int main(void)
{
  int count = 0;
  int32_t lo = INT32_MAX, hi = INT32_MIN;
  for (;;) {
    struct reading r;
    long len = rv_chan_recv(1, &r, sizeof r, RV_CHAN_WAIT_FOREVER);
    if (len != (long)sizeof r) {
      printf("logger: receive failed (%ld)\n", len);
      return 1;
    }
    if (r.seq < 0) break;
    struct rv_timespec64 ts;
    rv_clock_gettime(RV_CLOCK_MONOTONIC, &ts);
    printf("logger: t=%3ld ms  #%02ld  avg %ld.%03ld C\n", (long)(ts.tv_nsec / 1000000 + ts.tv_sec * 1000),
           (long)r.seq, (long)(r.milli / 1000), (long)(r.milli % 1000));
    if (r.milli < lo) lo = r.milli;
    if (r.milli > hi) hi = r.milli;
    count++;
  }
  printf("logger: %d readings, min %ld.%03ld C, max %ld.%03ld C\n", count, (long)(lo / 1000), (long)(lo % 1000),
         (long)(hi / 1000), (long)(hi % 1000));
  return 0;
}
