/*
 * agentfense-pty: a terminal inside a sandbox, for TerminalService.OpenTerminal.
 *
 *     agentfense-pty ROWS COLS SHELL [ARG...]
 *
 * Runs inside bwrap (execute-only, so no sandbox process may ptrace it or open its /proc
 * entries): opens a pseudo-terminal in the sandbox's own devpts (bwrap --dev), starts SHELL
 * on it as a session leader with the terminal as its controlling tty (job control, Ctrl+C to
 * the foreground process group, full-screen programs, SIGWINCH on resize), and relays.
 * Only stdin and stdout cross the sandbox's boundary; both carry frames:
 *
 *     type (1 byte) | length (4 bytes, big-endian) | payload (length bytes, at most MAX_FRAME)
 *
 * stdin (from the server):   'D' bytes for the terminal's input
 *                            'R' rows (2 bytes, BE) cols (2 bytes, BE): resize
 * stdout (to the server):    'D' bytes the terminal printed
 *                            'P' (empty) the shell is at its prompt again after a line was
 *                                entered: the terminal's foreground group is the shell's and
 *                                the terminal has been quiet for QUIET_MS
 *                            'X' status (4 bytes, BE): the shell ended (exit code, or 128 +
 *                                signal); the helper exits after it
 * A malformed frame from the server ends the helper (exit 2). EOF on stdin hangs the
 * terminal up (SIGHUP to the shell's session) and ends it.
 *
 * Static (cc -static), so it runs whatever the sandbox's root file system holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAME 65536
#define QUIET_MS 150
/* Input from the server not yet taken by the terminal; past this, stdin is not read. */
#define MAX_PENDING_INPUT (1024 * 1024)

static unsigned char in_buf[5 + MAX_FRAME];
static size_t in_len;
static unsigned char *pending;
static size_t pending_len, pending_cap;

static void die(const char *what) {
  fprintf(stderr, "agentfense-pty: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_all(int fd, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        poll(&pf, 1, -1);
        continue;
      }
      exit(1); /* the server is gone */
    }
    p += w;
    n -= (size_t)w;
  }
}

static void send_frame(char type, const void *payload, uint32_t n) {
  unsigned char head[5] = {(unsigned char)type, n >> 24, n >> 16, n >> 8, n};
  write_all(1, head, 5);
  if (n) write_all(1, payload, n);
}

static void queue_input(const unsigned char *data, size_t n) {
  if (pending_len + n > pending_cap) {
    size_t cap = pending_cap ? pending_cap : 4096;
    while (cap < pending_len + n) cap *= 2;
    pending = realloc(pending, cap);
    if (!pending) die("out of memory");
    pending_cap = cap;
  }
  memcpy(pending + pending_len, data, n);
  pending_len += n;
}

static int set_size(int master, unsigned rows, unsigned cols) {
  if (rows == 0 || cols == 0) return 0; /* keep the current size */
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(master, TIOCSWINSZ, &ws);
}

/* Takes every complete frame out of in_buf. Returns 1 if a submitted line arrived. */
static int take_frames(int master) {
  int submitted = 0;
  size_t at = 0;
  while (in_len - at >= 5) {
    unsigned char *f = in_buf + at;
    uint32_t n = ((uint32_t)f[1] << 24) | ((uint32_t)f[2] << 16) | ((uint32_t)f[3] << 8) | f[4];
    if (n > MAX_FRAME) {
      fprintf(stderr, "agentfense-pty: frame of %u bytes\n", n);
      exit(2);
    }
    if (in_len - at < 5 + n) break;
    if (f[0] == 'D') {
      queue_input(f + 5, n);
      if (memchr(f + 5, '\r', n) || memchr(f + 5, '\n', n)) submitted = 1;
    } else if (f[0] == 'R' && n == 4) {
      set_size(master, ((unsigned)f[5] << 8) | f[6], ((unsigned)f[7] << 8) | f[8]);
    } else {
      fprintf(stderr, "agentfense-pty: unknown frame type %u\n", f[0]);
      exit(2);
    }
    at += 5 + n;
  }
  memmove(in_buf, in_buf + at, in_len - at);
  in_len -= at;
  return submitted;
}

static uint32_t exit_code(int status) {
  if (WIFEXITED(status)) return (uint32_t)WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128u + (uint32_t)WTERMSIG(status);
  return 1;
}

/* Everything the terminal still holds, as output frames (after the shell ended). */
static void drain(int master) {
  static unsigned char buf[MAX_FRAME];
  for (;;) {
    ssize_t r = read(master, buf, sizeof buf);
    if (r > 0) send_frame('D', buf, (uint32_t)r);
    else if (r < 0 && errno == EINTR) continue;
    else break;
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: agentfense-pty ROWS COLS SHELL [ARG...]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("posix_openpt");
  if (grantpt(master) < 0 || unlockpt(master) < 0) die("unlockpt");
  const char *slave_name = ptsname(master);
  if (!slave_name) die("ptsname");
  set_size(master, (unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]));
  /* Held open here too, so the terminal never hangs up under us (a master with no slave
     open polls as POLLHUP forever); the shell's end is seen by waitpid. */
  int held_slave = open(slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (held_slave < 0) die("open pty");

  pid_t shell = fork();
  if (shell < 0) die("fork");
  if (shell == 0) {
    /* A new session whose controlling terminal is the pty; the server's pipes stay here. */
    if (setsid() < 0) die("setsid");
    int slave = open(slave_name, O_RDWR);
    if (slave < 0) die("open pty");
    if (ioctl(slave, TIOCSCTTY, 0) < 0) die("TIOCSCTTY");
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[3], argv + 3);
    fprintf(stderr, "agentfense-pty: cannot run %s: %s\r\n", argv[3], strerror(errno));
    _exit(127);
  }

  fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
  static unsigned char out[MAX_FRAME];
  int stdin_open = 1;
  int awaiting_prompt = 0; /* a line was entered and the shell has not been back at its prompt since */
  long long last_output = now_ms();
  for (;;) {
    int status;
    if (waitpid(shell, &status, WNOHANG) == shell) {
      drain(master);
      uint32_t code = exit_code(status);
      unsigned char be[4] = {code >> 24, code >> 16, code >> 8, code};
      send_frame('X', be, 4);
      return 0;
    }
    struct pollfd fds[2] = {
        {.fd = stdin_open && pending_len < MAX_PENDING_INPUT ? 0 : -1, .events = POLLIN},
        {.fd = master, .events = POLLIN | (pending_len ? POLLOUT : 0)},
    };
    /* Poll briefly: the shell's end is seen by waitpid, the prompt by the quiet timer. */
    int timeout = awaiting_prompt ? QUIET_MS / 3 : 200;
    int ready = poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) die("poll");
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, in_buf + in_len, sizeof in_buf - in_len);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        /* The server hung up: so does the terminal. */
        stdin_open = 0;
        kill(-shell, SIGHUP);
        kill(shell, SIGHUP);
        kill(shell, SIGCONT);
      } else if (r > 0) {
        in_len += (size_t)r;
        if (take_frames(master)) {
          awaiting_prompt = 1;
          last_output = now_ms(); /* the quiet period starts after the line */
        }
      }
    }
    if (ready > 0 && (fds[1].revents & POLLOUT) && pending_len) {
      ssize_t w = write(master, pending, pending_len);
      if (w > 0) {
        memmove(pending, pending + w, pending_len - (size_t)w);
        pending_len -= (size_t)w;
      }
    }
    if (ready > 0 && (fds[1].revents & POLLIN)) {
      ssize_t r = read(master, out, sizeof out);
      if (r > 0) {
        send_frame('D', out, (uint32_t)r);
        last_output = now_ms();
      }
    }
    if (awaiting_prompt && now_ms() - last_output >= QUIET_MS && pending_len == 0 && tcgetpgrp(master) == shell) {
      awaiting_prompt = 0;
      send_frame('P', NULL, 0);
    }
  }
}
