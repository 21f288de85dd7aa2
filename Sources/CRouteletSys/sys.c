#define _GNU_SOURCE
#include <sched.h>
#include "routelet_sys.h"

int rl_setns_net(int fd)
{
	return setns(fd, CLONE_NEWNET);
}
