/* Sensor partition: samples a simulated temperature sensor every 10 ms of
 * virtual time and sends each reading to the filter over queuing channel 0.
 * A reading is { seq, millidegrees }; seq = -1 ends the stream. */
#include <stdio.h>
#include <stdint.h>
#include "rvisor.h"

#define READINGS 40

struct reading { int32_t seq; int32_t milli; };

int main(void)
{
  uint32_t lcg = 12345u;
  int32_t temp = 21500; /* 21.5 C */
  long dropped = 0;
  printf("sensor: partition %ld, start condition %ld\n", rv_partition_id(), rv_start_condition());
  for (int32_t i = 0; i < READINGS; i++) {
    lcg = lcg * 1664525u + 1013904223u;
    temp += (int32_t)((lcg >> 16) % 401) - 200; /* random walk, +-0.2 C */
    struct reading r = { i, temp };
    if (rv_chan_send(0, &r, sizeof r) == -RV_EAGAIN) dropped++;
    rv_sleep_ns(10 * 1000 * 1000);
  }
  struct reading end = { -1, 0 };
  while (rv_chan_send(0, &end, sizeof end) == -RV_EAGAIN) rv_yield();
  printf("sensor: sent %d readings, %ld dropped\n", READINGS, dropped);
  return 0;
}
