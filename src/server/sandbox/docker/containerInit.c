/*
 * agentfense-init: what runs a Docker sandbox's processes, bound read-only (execute-only)
 * into its container.
 *
 *     agentfense-init              the container's pid 1: reaps orphans; signals from inside do nothing
 *     agentfense-init session-run ID SHELL
 *                                  one command of session ID: like `run`, but what it starts in
 *                                  the background lives on under a keeper until the session ends
 *     agentfense-init session-end ID
 *                                  ends session ID: its keepers and runners kill their trees
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
#include <fcntl.h>
#include <poll.h>
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

/* The script from AGENTFENSE_SCRIPT in a memfd (the variable is removed): its descriptor. */
static int script_memfd(void) {
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
  return fd;
}

static void on_stop_signals(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}

/* Forks SHELL running the script (fd), with default signal handling; out/err: its stdout/stderr (-1: ours). */
static pid_t start_shell(const char *shell, int fd, int out, int err) {
  pid_t child = fork();
  if (child < 0) fail("fork");
  if (child > 0) return child;
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGCHLD, SIG_DFL);
  if (out >= 0 && dup2(out, 1) < 0) _exit(126);
  if (err >= 0 && dup2(err, 2) < 0) _exit(126);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  execl(shell, shell, path, (char *)NULL);
  fprintf(stderr, "agentfense-init: cannot run %s in this image: %s\n", shell, strerror(errno));
  _exit(127);
}

static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

/* One-shot command: nothing it starts outlives it. */
static int run(const char *shell) {
  int fd = script_memfd();
  pid_t self = getpid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("prctl");
  on_stop_signals();
  pid_t child = start_shell(shell, fd, -1, -1);
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
  return exit_code(status);
}

static void on_child(int sig) { (void)sig; }

/* Copies up to 256 KiB of what is readable on `from` to `to`; closes `from` (sets -1) at its end. */
static void relay_ready(int *from, int to) {
  static char buf[65536];
  for (int round = 0; round < 4; round++) {
    ssize_t n = read(*from, buf, sizeof buf);
    if (n > 0) {
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) break; /* nobody reads the exec's output any more: drop it */
        off += w;
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    close(*from);
    *from = -1;
    return;
  }
}

/*
 * The keeper of one session command: the subreaper of everything it starts. It relays the
 * shell's output to the exec's stdout/stderr until the shell exits, then lets go of both (a
 * background job's later output goes nowhere, and the exec's stream can end), reports the
 * shell's status to the runner, and stays until its last descendant is gone; SIGTERM kills them.
 */
static int keep(int fd, const char *shell, int report) {
  pid_t self = getpid();
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("prctl");
  on_stop_signals();
  struct sigaction sa = {0};
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, NULL);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) fail("pipe");
  pid_t child = start_shell(shell, fd, out[1], err[1]);
  close(fd);
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  int status = 0, shell_done = 0;
  while (!shell_done || out[0] >= 0 || err[0] >= 0) {
    if (stop_requested) {
      kill_tree(self);
      _exit(128 + SIGKILL);
    }
    int w, st;
    while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
      if (w == child) {
        status = st;
        shell_done = 1;
      }
    }
    struct pollfd p[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
    /* After the shell: one pass over what is already in the pipes (its children may hold them open). */
    int n = poll(p, 2, shell_done ? 0 : 50);
    if (n > 0 || shell_done) {
      if (out[0] >= 0) relay_ready(&out[0], 1);
      if (err[0] >= 0) relay_ready(&err[0], 2);
    }
    if (shell_done) break;
  }
  if (out[0] >= 0) close(out[0]);
  if (err[0] >= 0) close(err[0]);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  int code = exit_code(status);
  if (write(report, &code, sizeof code) < 0) { /* the runner is gone: nobody to tell */
  }
  close(report);
  for (;;) {
    if (stop_requested) {
      kill_tree(self);
      _exit(128 + SIGKILL);
    }
    if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD) _exit(0);
  }
}

/*
 * A session command: the runner starts a keeper (above) and exits with the shell's status when
 * the keeper reports it, leaving the keeper, and the command's background jobs, to the session.
 * SIGTERM (a timeout, a cancel) ends the keeper's whole tree.
 */
static int session_run(const char *shell) {
  int fd = script_memfd();
  on_stop_signals();
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) fail("pipe");
  pid_t keeper = fork();
  if (keeper < 0) fail("fork");
  if (keeper == 0) {
    close(report[0]);
    return keep(fd, shell, report[1]);
  }
  close(fd);
  close(report[1]);
  int code;
  for (;;) {
    if (stop_requested) break;
    ssize_t n = read(report[0], &code, sizeof code);
    if (n == (ssize_t)sizeof code) return code;
    if (n < 0 && errno == EINTR) continue;
    break; /* the keeper died without a report */
  }
  kill(keeper, SIGTERM);
  waitpid(keeper, NULL, 0);
  return 128 + SIGKILL;
}

/* Ends a session: SIGTERM to every runner and keeper of it (they kill their trees). */
static int session_end(const char *id) {
  pid_t self = getpid();
  DIR *proc = opendir("/proc");
  if (!proc) fail("/proc");
  struct dirent *d;
  int found = 0;
  while ((d = readdir(proc))) {
    char *end;
    long pid = strtol(d->d_name, &end, 10);
    if (*end || pid <= 0 || pid == self) continue;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "re");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* argv: agentfense-init \0 session-run \0 ID \0 ... */
    const char *arg1 = buf + strlen(buf) + 1;
    if ((size_t)(arg1 - buf) >= n || strcmp(arg1, "session-run") != 0) continue;
    const char *arg2 = arg1 + strlen(arg1) + 1;
    if ((size_t)(arg2 - buf) >= n || strcmp(arg2, id) != 0) continue;
    kill((pid_t)pid, SIGTERM);
    found++;
  }
  closedir(proc);
  (void)found;
  return 0;
}

/*
 * No handler for SIGTERM or SIGINT: the kernel then drops them for a namespace's init, so no
 * sandbox process (same uid) can stop its own container. The server removes it with SIGKILL.
 */
static _Noreturn void idle(void) {
  struct sigaction sa = {0};
  /* An orphan's arrival wakes pause(), so it is reaped. */
  sa.sa_handler = on_child;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) {
    if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD) pause();
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && argc <= 3 && strcmp(argv[1], "run") == 0) return run(argc == 3 ? argv[2] : "/bin/sh");
  if (argc == 4 && strcmp(argv[1], "session-run") == 0) return session_run(argv[3]);
  if (argc == 3 && strcmp(argv[1], "session-end") == 0) return session_end(argv[2]);
  if (argc == 1) idle();
  fprintf(stderr, "usage: agentfense-init [run [SHELL] | session-run ID SHELL | session-end ID]\n");
  return 2;
}
