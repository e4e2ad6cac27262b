/* Prints each argv entry on its own line, a greeting on stderr, and exits with argc. */
#include "sys.h"

void cmain(long *sp) {
  int argc = (int)sp[0];
  char **argv = (char **)(sp + 1);
  for (int i = 1; i < argc; i++) {
    puts_fd(1, argv[i]);
    puts_fd(1, "\n");
  }
  puts_fd(2, "to stderr\n");
  exit_(argc);
}
ENTRY(cmain);
