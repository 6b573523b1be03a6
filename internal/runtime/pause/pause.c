// The pause process itself, in C: it runs as a constructor, before the Go
// runtime and klite's package initialisers would start, so a pod's infra
// process costs no Go heap, no runtime threads and no package init (tens of
// milliseconds and ~9 MiB in the Go version it replaces).
//
// Protocol with Start (pause.go): argv[0] is "klite-pause"; the hostname to
// set, if any, is in KLITE_PAUSE_HOSTNAME; fd 3 is the write end of a pipe on
// which the process reports "ok\n" once set up, or an error line before it
// exits 1. It then sleeps until SIGTERM or SIGINT, reaping orphans as they
// come (it is their reaper when it is PID 1 of the pod's PID namespace).

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define READY_FD 3

static void fail(const char *what)
{
	dprintf(READY_FD, "%s: %s\n", what, strerror(errno));
	_exit(1);
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

// glibc passes argc, argv and envp to constructors.
__attribute__((constructor)) static void klite_pause(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc < 1 || argv[0] == NULL || strcmp(argv[0], "klite-pause") != 0)
		return;

	// Blocked signals are never dropped, not even for a namespace's PID 1,
	// which the kernel spares every signal it has no handler for.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fail("sigprocmask");

	const char *hostname = getenv("KLITE_PAUSE_HOSTNAME");
	if (hostname != NULL && hostname[0] != '\0' && sethostname(hostname, strlen(hostname)) < 0)
		fail("sethostname");
	if (write(READY_FD, "ok\n", 3) != 3)
		_exit(1);
	close(READY_FD);

	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			_exit(0);
		reap();
	}
}
