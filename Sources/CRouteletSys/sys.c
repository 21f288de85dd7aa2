#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <unistd.h>
#include <errno.h>
#include "routelet_sys.h"

int rl_setns_net(int fd)
{
	return setns(fd, CLONE_NEWNET);
}

int rl_eventfd_nonblock_cloexec(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int rl_set_current_thread_name(const char *name)
{
	char truncated[16];

	strncpy(truncated, name, sizeof(truncated) - 1);
	truncated[sizeof(truncated) - 1] = '\0';
	return pthread_setname_np(pthread_self(), truncated);
}

int rl_set_link_up(const char *name, int up)
{
	struct ifreq request;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int result = -1;
	int saved;

	if (fd < 0)
		return -1;
	memset(&request, 0, sizeof(request));
	strncpy(request.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &request) == 0) {
		if (up)
			request.ifr_flags |= IFF_UP;
		else
			request.ifr_flags &= ~IFF_UP;
		result = ioctl(fd, SIOCSIFFLAGS, &request);
	}
	saved = errno;
	close(fd);
	errno = saved;
	return result;
}

int rl_accept_nonblock_cloexec(int listener) {
    return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int rl_spawn(const char *path, char *const argv[], char *const envp[], int *pid_out)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attributes;
	sigset_t none, all;
	pid_t pid;
	int result;

	if ((result = posix_spawn_file_actions_init(&actions)) != 0)
		return result;
	/* Nothing but stdin, stdout and stderr: no map, socket or lock of the parent. */
	posix_spawn_file_actions_addclosefrom_np(&actions, 3);
	posix_spawnattr_init(&attributes);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attributes, &none);
	posix_spawnattr_setsigdefault(&attributes, &all);
	posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	result = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attributes);
	if (result == 0)
		*pid_out = pid;
	return result;
}
