/*
 * app profile: the POSIX calls picolibc declares but leaves to the system, on top of the
 * Linux hypercalls: read(), write(), gettimeofday() (hence time()) and usleep().
 * picolibc has no clock_gettime() for bare targets; use rv_clock_gettime() from rvisor.h,
 * whose clock ids are Linux's (RV_CLOCK_REALTIME 0, RV_CLOCK_MONOTONIC 1), not newlib's.
 * --gc-sections drops whatever a guest does not call.
 */
#include <errno.h>
#include <sys/time.h>
#include <unistd.h>
#include "rvisor.h"

static int fail(long r)
{
  errno = (int)-r;
  return -1;
}

ssize_t read(int fd, void *buf, size_t len)
{
  long r = rv_read(fd, buf, len);
  return r < 0 ? fail(r) : (ssize_t)r;
}

ssize_t write(int fd, const void *buf, size_t len)
{
  long r = rv_write(fd, buf, len);
  return r < 0 ? fail(r) : (ssize_t)r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
  (void)tz;
  struct rv_timespec64 t;
  long r = rv_clock_gettime(RV_CLOCK_REALTIME, &t);
  if (r < 0) return fail(r);
  tv->tv_sec = (time_t)t.tv_sec;
  tv->tv_usec = (suseconds_t)(t.tv_nsec / 1000);
  return 0;
}

/* Sleeps on the monotonic clock; the partition gives its CPU time back meanwhile. */
int usleep(useconds_t us)
{
  long r = rv_sleep_ns((int64_t)us * 1000);
  return r < 0 ? fail(r) : 0;
}
