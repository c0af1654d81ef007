/*
 * agentfense-init: what runs a Docker sandbox's processes, bound read-only (execute-only)
 * into its container.
 *
 *     agentfense-init              the container's pid 1: reaps orphans, exits on SIGTERM
 *     agentfense-init run [SHELL]  one command (a Docker exec): the shell script is read from
 *                                  the environment variable AGENTFENSE_SCRIPT (removed before
 *                                  the shell starts) and run as `SHELL /proc/self/fd/N`
 *                                  (SHELL: /bin/sh unless a session names another)
 *
 * `run` gives a command the semantics a bwrap sandbox gets from its own pid namespace:
 *  - it is the child subreaper of everything the command starts, so a double-forked or
 *    setsid'd process is still its descendant;
 *  - when the command's shell exits, every process it left behind is killed (nothing a command
 *    starts outlives it, as in bubblewrap);
 *  - on SIGTERM/SIGINT/SIGHUP (the server's timeout or cancellation, sent to this process's
 *    host pid) it kills the whole tree and exits 137;
 *  - its exit status (the shell's, or 128 + signal) is what Docker's exec inspection reports:
 *    sandboxed code cannot forge it (this process is execute-only, hence not dumpable).
 * The script travels through the environment and a memfd, not the command line, which every
 * local user can read.
 *
 * Static (cc -static), so it runs on whatever the image holds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void fail(const char *what) {
  fprintf(stderr, "agentfense-init: %s: %s\n", what, strerror(errno));
  exit(126);
}

/* SIGKILLs every process whose parent is this one; returns how many it found. */
static int kill_children(pid_t self) {
  int found = 0;
  DIR *proc = opendir("/proc");
  if (!proc) return 0;
  struct dirent *d;
  while ((d = readdir(proc))) {
    char *end;
    long pid = strtol(d->d_name, &end, 10);
    if (*end || pid <= 0 || pid == self) continue;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* "pid (comm) state ppid ...": comm may hold spaces and parentheses, so after the last ')'. */
    char *close = strrchr(buf, ')');
    char state;
    long ppid;
    if (!close || sscanf(close + 1, " %c %ld", &state, &ppid) != 2) continue;
    if (ppid == self) {
      kill((pid_t)pid, SIGKILL);
      found++;
    }
  }
  closedir(proc);
  return found;
}

/* Kills what is left below this process until nothing is: orphans keep arriving as their parents die. */
static void kill_tree(pid_t self) {
  for (;;) {
    int found = kill_children(self);
    int reaped = 0;
    while (waitpid(-1, NULL, WNOHANG) > 0) reaped++;
    if (!found && !reaped) {
      if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD) return;
      usleep(1000);
    }
  }
}

static int run(const char *shell) {
  const char *script = getenv("AGENTFENSE_SCRIPT");
  if (!script) {
    errno = EINVAL;
    fail("AGENTFENSE_SCRIPT is not set");
  }
  int fd = memfd_create("agentfense-command", 0);
  if (fd < 0) fail("memfd_create");
  size_t len = strlen(script), off = 0;
  while (off < len) {
    ssize_t w = write(fd, script + off, len - off);
    if (w < 0) fail("write");
    off += (size_t)w;
  }
  if (lseek(fd, 0, SEEK_SET) < 0) fail("lseek");
  unsetenv("AGENTFENSE_SCRIPT");

  pid_t self = getpid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("prctl");
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  pid_t child = fork();
  if (child < 0) fail("fork");
  if (child == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    execl(shell, shell, path, (char *)NULL);
    fprintf(stderr, "agentfense-init: cannot run %s in this image: %s\n", shell, strerror(errno));
    _exit(127);
  }
  close(fd);

  int status = 0;
  for (;;) {
    if (stop_requested) {
      kill_tree(self);
      return 128 + SIGKILL;
    }
    pid_t w = waitpid(-1, &status, 0);
    if (w == child) break;
    if (w < 0 && errno != EINTR) fail("waitpid");
  }
  kill_tree(self);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

static void on_child(int sig) { (void)sig; }

static int idle(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  /* An orphan's arrival wakes pause(), so it is reaped. */
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, NULL);
  while (!stop_requested) {
    if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD) pause();
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && argc <= 3 && strcmp(argv[1], "run") == 0) return run(argc == 3 ? argv[2] : "/bin/sh");
  if (argc == 1) return idle();
  fprintf(stderr, "usage: agentfense-init [run]\n");
  return 2;
}
