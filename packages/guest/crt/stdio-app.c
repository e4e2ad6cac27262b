/*
 * app profile glue for picolibc (tinystdio): stdout/stderr are written with the write
 * hypercall, stdin is read with read, the heap grows with brk, and _exit is exit(93).
 * Output is line-buffered so that printf costs one hypercall per line, not per byte.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "rvisor.h"

#define OUT_CAP 256

struct outbuf {
  int fd;
  int len;
  char data[OUT_CAP];
};

static struct outbuf out_buf = { 1, 0, { 0 } };
static struct outbuf err_buf = { 2, 0, { 0 } };

static void drain(struct outbuf *b)
{
  int done = 0;
  while (done < b->len) {
    long n = rv_write(b->fd, b->data + done, (size_t)(b->len - done));
    if (n <= 0) break; /* nowhere to report it: drop the rest rather than spin */
    done += (int)n;
  }
  b->len = 0;
}

static int put(struct outbuf *b, char c)
{
  b->data[b->len++] = c;
  if (c == '\n' || b->len == OUT_CAP) drain(b);
  return (unsigned char)c;
}

static int out_put(char c, FILE *f) { (void)f; return put(&out_buf, c); }

static int err_put(char c, FILE *f)
{
  (void)f;
  /* keep stdout and stderr in program order when both go to one console */
  if (out_buf.len) drain(&out_buf);
  return put(&err_buf, c);
}

static int out_flush(FILE *f) { (void)f; drain(&out_buf); return 0; }
static int err_flush(FILE *f) { (void)f; drain(&err_buf); return 0; }

static int in_get(FILE *f)
{
  static unsigned char buf[64];
  static int pos, len;
  (void)f;
  if (pos == len) {
    if (out_buf.len) drain(&out_buf); /* a prompt without newline must show before we block */
    long n = rv_read(0, buf, sizeof buf);
    if (n <= 0) return n == 0 ? _FDEV_EOF : _FDEV_ERR;
    pos = 0;
    len = (int)n;
  }
  return buf[pos++];
}

static FILE stdin_file = FDEV_SETUP_STREAM(NULL, in_get, NULL, _FDEV_SETUP_READ);
static FILE stdout_file = FDEV_SETUP_STREAM(out_put, NULL, out_flush, _FDEV_SETUP_WRITE);
static FILE stderr_file = FDEV_SETUP_STREAM(err_put, NULL, err_flush, _FDEV_SETUP_WRITE);

FILE *const stdin = &stdin_file;
FILE *const stdout = &stdout_file;
FILE *const stderr = &stderr_file;

void __attribute__((noreturn)) _exit(int code)
{
  drain(&out_buf);
  drain(&err_buf);
  rv_exit(code);
}

/* picolibc's malloc grows the heap through sbrk; here the break belongs to the host. */
void *sbrk(ptrdiff_t incr)
{
  static uintptr_t cur;
  if (cur == 0) cur = (uintptr_t)rv_brk(0);
  uintptr_t want = cur + (uintptr_t)incr;
  if ((uintptr_t)rv_brk((void *)want) != want) {
    errno = ENOMEM;
    return (void *)-1;
  }
  uintptr_t old = cur;
  cur = want;
  return (void *)old;
}
