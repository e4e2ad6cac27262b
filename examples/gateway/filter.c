/* Filter partition: a moving average over the last 4 readings from channel 0,
 * forwarded on channel 1 to the logger and published as the latest value on
 * sampling channel 2 (which the host reads). */
#include <stdio.h>
#include <stdint.h>
#include "rvisor.h"

struct reading { int32_t seq; int32_t milli; };

int main(void)
{
  int32_t window[4] = { 0 };
  int n = 0;
  for (;;) {
    struct reading r;
    long len = rv_chan_recv(0, &r, sizeof r, RV_CHAN_WAIT_FOREVER);
    if (len != (long)sizeof r) {
      printf("filter: receive failed (%ld)\n", len);
      return 1;
    }
    if (r.seq < 0) {
      while (rv_chan_send(1, &r, sizeof r) == -RV_EAGAIN) rv_yield();
      printf("filter: averaged %d readings\n", n);
      return 0;
    }
    window[n % 4] = r.milli;
    n++;
    int k = n < 4 ? n : 4;
    int32_t sum = 0;
    for (int i = 0; i < k; i++) sum += window[i];
    struct reading avg = { r.seq, sum / k };
    while (rv_chan_send(1, &avg, sizeof avg) == -RV_EAGAIN) rv_yield();
    rv_chan_write_sample(2, &avg, sizeof avg);
  }
}
