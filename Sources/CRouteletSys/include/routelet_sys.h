// Linux calls that Swift's Glibc module does not expose (they need
// _GNU_SOURCE), wrapped with the rl_ prefix.
#ifndef ROUTELET_SYS_H
#define ROUTELET_SYS_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/fib_rules.h>

/// Moves the calling thread into the network namespace behind `fd`.
/// Returns 0, or -1 with errno set.
int rl_setns_net(int fd);

/// A non-blocking, close-on-exec eventfd with a zero counter, used to wake a
/// thread blocked in poll(2). Returns the fd, or -1 with errno set.
int rl_eventfd_nonblock_cloexec(void);

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC: the accepted socket is
/// never inherited by a concurrent fork+exec. Returns the fd, or -1 with errno set.
int rl_accept_nonblock_cloexec(int listener);

/// Names the calling thread (truncated to 15 bytes) so it shows in ps/top.
/// Returns 0, or an error number (not -1/errno, as pthread_setname_np).
int rl_set_current_thread_name(const char *_Nonnull name);

/// Sets an interface of the calling thread's network namespace
/// administratively up (up != 0) or down, as `ip link set NAME up|down`
/// does. Returns 0, or -1 with errno set.
int rl_set_link_up(const char *_Nonnull name, int up);

/// posix_spawn(3) of `path` with every descriptor above stderr closed in
/// the child (no map, socket or lock of the parent leaks into it), and the
/// signal mask and dispositions reset. Returns 0 with the pid in `pid_out`,
/// or an error number.
int rl_spawn(const char *_Nonnull path, char *_Nullable const argv[_Nonnull], char *_Nullable const envp[_Nonnull],
	     int *_Nonnull pid_out);

#endif
