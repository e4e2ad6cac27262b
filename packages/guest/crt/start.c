/* Profile-independent part of program start-up: constructors, main, exit. */
#include <stdlib.h>

extern int main(int argc, char **argv, char **envp);
extern void __libc_init_array(void);

char **environ;

void __attribute__((noreturn, used)) __rv_start(int argc, char **argv, char **envp)
{
  environ = envp;
  __libc_init_array();
  exit(main(argc, argv, envp));
}
