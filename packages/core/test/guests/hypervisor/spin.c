/* Never yields, never sleeps: the scheduler must take the CPU away at the end
 * of every window. */
#include <stdint.h>
volatile uint32_t spins;
int main(void)
{
  for (;;) spins++;
}
