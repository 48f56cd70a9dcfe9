/* ptlab snapshot test helper: maps MB MiB, 2 MiB aligned, asks for THP with MADV_HUGEPAGE and
 * writes every page (PMD-mapped THPs when the kernel has them), plus a few scattered 4 KiB pages
 * in a second mapping; prints "ready" and waits until stdin closes. Usage: thp MB */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: thp MB\n"); return 2; }
    size_t two = 2 << 20, size = (size_t)atol(argv[1]) << 20;
    char *raw = mmap(NULL, size + two, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) { perror("mmap"); return 1; }
    char *p = (char *)(((unsigned long)raw + two - 1) & ~(two - 1));
    if (madvise(p, size, MADV_HUGEPAGE) != 0) { perror("madvise"); return 1; }
    memset(p, 1, size);
    char *q = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(q, 64 << 20, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < (64u << 20); off += 3u << 20) q[off] = 1;
    printf("ready\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
