/* kdriver: ptlab's differential-test driver. Runs a page-table trace on the live Linux kernel and
 * prints the change of VmPTE (page-table bytes of the mm: PTE + PMD + PUD tables) after every step.
 *
 * Same language and output as shared/tools/ktrace.c (this is a copy of its logic, kept inside the
 * test resources so the test suite does not depend on shared/ being present). Differences, none of
 * which changes what a trace means:
 *  - no page-table growth of the driver's own memory after the baseline. ktrace allocates the input
 *    FILE's buffer at the first fgets and fopen()s /proc/self/status at every step (heap), and its
 *    first SIGSEGV frame may land on a fresh stack page; with ASLR such a page now and then needs a
 *    new PTE table, and a step reports +4 KB that the trace did not cause (about 1 run in 200).
 *    Here the input buffer is static, VmPTE is read with open/read, and the stack is pre-faulted;
 *  - operand checks: a malformed line exits with status 2 instead of crashing.
 *
 * Trace lines (numbers in hex 0x.. or decimal, optional K/M/G suffix; '#' starts a comment):
 *   mmap ADDR LEN [r|rw|rx|rwx|none] [shared] [thp|nothp]   (MAP_FIXED_NOREPLACE, private unless shared)
 *   touch ADDR LEN [read|write]   one byte of every 4 KiB page; stops at the first page that faults: err=14
 *   munmap ADDR LEN
 *   mprotect ADDR LEN PROT
 *   madvise ADDR LEN dontneed|hugepage|nohugepage|collapse
 *   fork                          prints the child's VmPTE delta against a child forked at start
 * Output: one line per step: "<step> <vmpte_delta_kb>" (fork: "<step> <child delta> fork");
 * a call that fails still reports its delta, followed by " err=<errno>".
 *
 * Build: cc -O2 -o kdriver kdriver.c      Run: ./kdriver TRACE   (or the trace on stdin) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static char statbuf[65536];

/* VmPTE of this process in KiB, from /proc/self/status (syscalls only: no heap use). */
static long vmpte(void) {
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  for (ssize_t r; n < sizeof statbuf - 1 && (r = read(fd, statbuf + n, sizeof statbuf - 1 - n)) > 0;) n += (size_t)r;
  close(fd);
  statbuf[n] = 0;
  char *p = strstr(statbuf, "VmPTE:");
  return p ? strtol(p + 6, 0, 10) : -1;
}

/* Faults in the stack the rest of the run can use (calls, signal frames) before the baseline. */
static __attribute__((noinline)) void prefault_stack(void) {
  volatile char pad[512 * 1024];
  for (size_t i = 0; i < sizeof pad; i += 4096) pad[i] = 0;
  pad[sizeof pad - 1] = 0;
}

static unsigned long num(const char *s) {
  char *e;
  unsigned long v = strtoul(s, &e, 0);
  if (*e == 'K' || *e == 'k') v <<= 10;
  else if (*e == 'M' || *e == 'm') v <<= 20;
  else if (*e == 'G' || *e == 'g') v <<= 30;
  return v;
}

static int prot_of(const char *s) {
  if (!strcmp(s, "none")) return PROT_NONE;
  int p = 0;
  for (; *s; s++) p |= *s == 'r' ? PROT_READ : *s == 'w' ? PROT_WRITE : *s == 'x' ? PROT_EXEC : 0;
  return p;
}

static int pipefd[2];
static sigjmp_buf fault_jmp;
static void on_fault(int sig) { (void)sig; siglongjmp(fault_jmp, 1); }

/* VmPTE of a freshly forked child, as the child sees it right after fork. */
static long child_vmpte(void) {
  pid_t c = fork();
  if (c == 0) {
    long v = vmpte();
    if (write(pipefd[1], &v, sizeof v) != sizeof v) _exit(1);
    _exit(0);
  }
  long v = -1;
  if (c < 0 || read(pipefd[0], &v, sizeof v) != sizeof v) v = -1;
  if (c > 0) waitpid(c, 0, 0);
  return v;
}

/* Accesses one byte of every 4 KiB page of [a, a + l); -1 with errno EFAULT at the first page that faults. */
static int touch(volatile unsigned long a, volatile unsigned long l, volatile int rd) {
  if (sigsetjmp(fault_jmp, 1)) { errno = EFAULT; return -1; }
  for (volatile unsigned long x = a; x < a + l; x += 4096) {
    if (rd) (void)*(volatile char *)x;
    else *(volatile char *)x = 1;
  }
  return 0;
}

static char line[4096];

int main(int argc, char **argv) {
  FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
  if (!in) { perror("trace"); return 2; }
  if (pipe(pipefd)) return 2;
  struct sigaction sa = {0};
  sa.sa_handler = on_fault;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, 0);
  sigaction(SIGBUS, &sa, 0);
  static char outbuf[1 << 16], inbuf[1 << 16];
  setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf); /* no heap growth after the baseline */
  setvbuf(in, inbuf, _IOFBF, sizeof inbuf);
  prefault_stack();
  vmpte(); child_vmpte();                         /* warm stdio and fork paths first */
  long base = vmpte(), child_base = child_vmpte();
  int step = 0;
  while (fgets(line, sizeof line, in)) {
    char *t[8] = {0};
    int n = 0;
    char *h = strchr(line, '#');
    if (h) *h = 0;
    for (char *s = strtok(line, " \t\r\n"); s && n < 8; s = strtok(0, " \t\r\n")) t[n++] = s;
    if (!n) continue;
    step++;
    int need = !strcmp(t[0], "fork") ? 1 : !strcmp(t[0], "mprotect") || !strcmp(t[0], "madvise") ? 4 : 3;
    if (n < need) { fprintf(stderr, "step %d: %s needs %d operands\n", step, t[0], need - 1); return 2; }
    long r = 0;
    if (!strcmp(t[0], "mmap")) {
      unsigned long a = num(t[1]), l = num(t[2]);
      int prot = PROT_READ | PROT_WRITE, fl = MAP_PRIVATE, thp = 0;
      for (int i = 3; i < n; i++) {
        if (!strcmp(t[i], "shared")) fl = MAP_SHARED;
        else if (!strcmp(t[i], "thp")) thp = 1;
        else if (!strcmp(t[i], "nothp")) thp = -1;
        else prot = prot_of(t[i]);
      }
      void *p = mmap((void *)a, l, prot, fl | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p != (void *)a) r = -1;
      else if (thp) r = madvise(p, l, thp > 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    } else if (!strcmp(t[0], "touch")) {
      r = touch(num(t[1]), num(t[2]), n > 3 && !strcmp(t[3], "read"));
    } else if (!strcmp(t[0], "munmap")) {
      r = munmap((void *)num(t[1]), num(t[2]));
    } else if (!strcmp(t[0], "mprotect")) {
      r = mprotect((void *)num(t[1]), num(t[2]), prot_of(t[3]));
    } else if (!strcmp(t[0], "madvise")) {
      int adv = !strcmp(t[3], "dontneed") ? MADV_DONTNEED : !strcmp(t[3], "hugepage") ? MADV_HUGEPAGE
              : !strcmp(t[3], "nohugepage") ? MADV_NOHUGEPAGE : !strcmp(t[3], "collapse") ? MADV_COLLAPSE : -1;
      r = madvise((void *)num(t[1]), num(t[2]), adv);
    } else if (!strcmp(t[0], "fork")) {
      printf("%d %ld fork\n", step, child_vmpte() - child_base);
      fflush(stdout);
      continue;
    } else {
      fprintf(stderr, "step %d: unknown op %s\n", step, t[0]);
      return 2;
    }
    if (r) printf("%d %ld err=%d\n", step, vmpte() - base, errno);
    else printf("%d %ld\n", step, vmpte() - base);
    fflush(stdout);
  }
  return 0;
}
