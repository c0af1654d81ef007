/*
 * agentfense-netfwd: the sandbox's way out, for a sandbox whose network is `allow` or `on`.
 *
 *     agentfense-netfwd PORT SOCKET PROGRAM [ARG...]
 *
 * Runs inside bwrap, in the sandbox's own network namespace (which has only a loopback):
 * listens on 127.0.0.1:PORT, then forks a forwarder that relays each connection to SOCKET,
 * the Unix socket of the server's egress proxy bound into the sandbox, and execs PROGRAM.
 * The forwarder is its own process group (job-control signals for the command do not reach
 * it), holds no descriptor of the command's (its stdio is /dev/null; everything else is
 * closed), and dies with the sandbox's pid namespace. Execute-only, like the other helpers.
 *
 * Static (cc -static), so it runs whatever the sandbox's root file system holds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF 65536

static void fail(const char *what) {
  fprintf(stderr, "agentfense-netfwd: %s: %s\n", what, strerror(errno));
  exit(126);
}

/* Copies both ways until both directions ended. */
static void relay(int a, int b) {
  static char buf[BUF];
  int open_a = 1, open_b = 1;
  while (open_a || open_b) {
    struct pollfd p[2] = {{a, open_a ? POLLIN : 0, 0}, {b, open_b ? POLLIN : 0, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      int *open_from = i == 0 ? &open_a : &open_b;
      if (!*open_from || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(from, buf, sizeof buf);
      if (n <= 0) {
        *open_from = 0;
        shutdown(to, SHUT_WR);
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(to, buf + off, (size_t)(n - off));
        if (w < 0) {
          if (errno == EINTR) continue;
          return;
        }
        off += w;
      }
    }
  }
}

static void serve(int listener, const char *path) {
  signal(SIGCHLD, SIG_IGN); /* connections' children reap themselves */
  for (;;) {
    int client = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      _exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(listener);
      int up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un addr = {.sun_family = AF_UNIX};
      strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
      if (up < 0 || connect(up, (struct sockaddr *)&addr, sizeof addr) < 0) _exit(1);
      relay(client, up);
      _exit(0);
    }
    close(client);
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: agentfense-netfwd PORT SOCKET PROGRAM [ARG...]\n");
    return 2;
  }
  int port = atoi(argv[1]);
  const char *path = argv[2];
  if (port < 1 || port > 65535 || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    fprintf(stderr, "agentfense-netfwd: bad port or socket path\n");
    return 2;
  }
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) fail("socket");
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) fail("bind 127.0.0.1");
  if (listen(listener, 128) < 0) fail("listen");

  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    setpgid(0, 0);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      if (null > 2) close(null);
    }
    /* Nothing of the command's: an audit pipe or a status pipe held here would never end. */
    for (int fd = 3; fd < 1024; fd++)
      if (fd != listener) close(fd);
    serve(listener, path);
    _exit(0);
  }
  execvp(argv[3], argv + 3);
  fail(argv[3]);
}
