/* ptlab snapshot test helper: touches one byte every STRIDE KiB of a GIB GiB anonymous mapping,
 * optionally leaves a PTE table with no page (HIDDEN=1: touch one page, MADV_DONTNEED it), prints
 * "ready" and waits until stdin closes. Usage: sparse GIB STRIDE_KIB HIDDEN */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: sparse GIB STRIDE_KIB HIDDEN\n"); return 2; }
    size_t size = (size_t)atol(argv[1]) << 30, stride = (size_t)atol(argv[2]) << 10;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    if (madvise(p, size, MADV_NOHUGEPAGE) != 0) { perror("madvise"); return 1; }
    for (size_t off = 0; off < size; off += stride) p[off] = 1;
    if (atoi(argv[3])) {
        size_t two = 2 << 20;
        char *h = mmap(NULL, 2 * two, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (h == MAP_FAILED) { perror("mmap"); return 1; }
        char *a = (char *)(((unsigned long)h + two - 1) & ~(two - 1));
        a[4096] = 1;
        /* Zaps one page only: PT reclaim needs the whole PMD span, so the table stays, empty. */
        if (madvise(a + 4096, 4096, MADV_DONTNEED) != 0) { perror("madvise"); return 1; }
    }
    printf("ready\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
