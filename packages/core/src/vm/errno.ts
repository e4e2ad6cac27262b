/**
 * Linux errno values (asm-generic/errno-base.h, errno.h) that hypercalls
 * return negated in a0, as RV32 Linux system calls do.
 */
export const ENOENT = 2;
export const EBADF = 9;
export const EAGAIN = 11;
export const EFAULT = 14;
export const EINVAL = 22;
export const ENOSYS = 38;
export const EMSGSIZE = 90;
export const ETIMEDOUT = 110;
