/* spawn1 INPUT OUTPUT CMD [ARG...]: run CMD once with INPUT on fd 0 and
 * OUTPUT on fds 1 and 2, the environment of spawn1 itself, and print
 * "wall_ns cpu_us maxrss_kib status" for it.
 *
 * Why a C helper: ru_maxrss counts the memory of the process before its
 * exec, so a child spawned straight from Python (15 MiB) would report
 * Python's size. This helper is small (about 1 MiB, less than any command
 * measured) and times the child from fork to reap, without Python's own
 * overhead. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: spawn1 INPUT OUTPUT CMD [ARG...]\n");
    return 2;
  }
  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (in < 0 || out < 0) {
    perror("spawn1: open");
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = vfork();
  if (pid == 0) {
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execvp(argv[3], argv + 3);
    _exit(127);
  }
  if (pid < 0) {
    perror("spawn1: vfork");
    return 2;
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) {
    perror("spawn1: wait4");
    return 2;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  long long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
                  ru.ru_stime.tv_usec;
  printf("%lld %lld %ld %d\n", ns, cpu, ru.ru_maxrss, status);
  return 0;
}
