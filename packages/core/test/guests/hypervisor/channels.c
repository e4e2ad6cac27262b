/* Channel hypercalls at their edges. Channel 0: queuing, this partition sends
 * (depth 2, 16-byte messages). Channel 1: queuing, this partition receives.
 * Channel 2: sampling, this partition reads. Channel 3: exists but this
 * partition is not connected. Every result is printed; the test compares. */
#include <stdio.h>
#include <string.h>
#include "rvisor.h"

int main(void)
{
  char buf[32];
  memset(buf, 'x', sizeof buf);
  printf("send1 %ld\n", rv_chan_send(0, "one", 3));
  printf("send2 %ld\n", rv_chan_send(0, "two", 3));
  printf("send-full %ld\n", rv_chan_send(0, "three", 5));
  printf("send-too-big %ld\n", rv_chan_send(0, buf, 17));
  printf("send-unconnected %ld\n", rv_chan_send(3, "x", 1));
  printf("send-unknown %ld\n", rv_chan_send(99, "x", 1));
  printf("send-bad-pointer %ld\n", rv_chan_send(0, (void *)0xfffffff0, 4));
  printf("recv-poll-empty %ld\n", rv_chan_recv(1, buf, sizeof buf, 0));
  long n = rv_chan_recv(1, buf, sizeof buf, 5000); /* the host sends after a while */
  printf("recv-wait %ld %.*s\n", n, n > 0 ? (int)n : 0, buf);
  printf("recv-timeout %ld\n", rv_chan_recv(1, buf, sizeof buf, 1000));
  int fresh = -1;
  long s = rv_chan_read_sample(2, buf, sizeof buf, &fresh);
  printf("sample %ld %.*s fresh %d\n", s, s > 0 ? (int)s : 0, buf, fresh);
  printf("recv-on-sampling %ld\n", rv_chan_recv(2, buf, sizeof buf, 0));
  return 0;
}
