// Linux calls that Swift's Glibc module does not expose (they need
// _GNU_SOURCE), wrapped with the rl_ prefix.
#ifndef ROUTELET_SYS_H
#define ROUTELET_SYS_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>

/// Moves the calling thread into the network namespace behind `fd`.
/// Returns 0, or -1 with errno set.
int rl_setns_net(int fd);

#endif
