/* Writes "y\n" for ever, like yes(1): for a reader that goes away. */
#include "sys.h"

void cmain(long *sp) {
  (void)sp;
  for (;;) puts_fd(1, "y\n");
}
ENTRY(cmain);
