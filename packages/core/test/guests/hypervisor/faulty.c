/* Reports how it was started, then faults on a cold first start (or always,
 * given any argument): the health monitor's restart is visible to the guest
 * through RV_HC_START_CONDITION. */
#include <stdio.h>
#include "rvisor.h"

int main(int argc, char **argv)
{
  long cond = rv_start_condition();
  printf("start condition %ld\n", cond);
  (void)argv;
  if (cond == 0 || argc > 1) {
    volatile int *bad = (int *)0xfffffff0;
    *bad = 1; /* store access fault */
  }
  printf("running normally\n");
  return 0;
}
