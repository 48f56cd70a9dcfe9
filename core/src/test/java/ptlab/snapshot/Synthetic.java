package ptlab.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds capture directories by hand, in the kernel's formats, for exact expectations. */
final class Synthetic {
    private final List<String> maps = new ArrayList<>();
    private final StringBuilder smaps = new StringBuilder();
    private final List<long[]> pagemap = new ArrayList<>();
    private long vmPteKb;

    /** Adds a VMA; {@code entries} are its pagemap entries (length = pages), {@code kb} its smaps counters. */
    Synthetic vma(long start, long end, String perms, String path, long[] entries, Map<String, Long> kb, String vmFlags) {
        String line = String.format("%012x-%012x %s %08x %s %d", start, end, perms, 0, path.isEmpty() ? "00:00" : "08:01",
                path.isEmpty() || path.startsWith("[") ? 0 : 1234);
        line = path.isEmpty() ? line : String.format("%-72s %s", line, path);
        maps.add(line);
        smaps.append(line).append('\n');
        Map<String, Long> all = new LinkedHashMap<>();
        all.put("Size", (end - start) >> 10);
        all.put("KernelPageSize", 4L);
        all.put("MMUPageSize", 4L);
        all.put("Rss", 0L);
        all.put("AnonHugePages", 0L);
        all.put("ShmemPmdMapped", 0L);
        all.put("FilePmdMapped", 0L);
        all.putAll(kb);
        for (Map.Entry<String, Long> e : all.entrySet()) {
            smaps.append(String.format("%-16s%8d kB%n", e.getKey() + ":", e.getValue()));
        }
        smaps.append("THPeligible:    0\n");
        smaps.append("VmFlags: ").append(vmFlags).append(" \n");
        if (Long.compareUnsigned(start, Pagemap.USER_LIMIT) < 0) {
            if (entries.length != (end - start) >> 12) {
                throw new IllegalArgumentException("entries must cover the VMA");
            }
            pagemap.add(entries);
        }
        return this;
    }

    Synthetic vmPteKb(long kb) {
        vmPteKb = kb;
        return this;
    }

    String mapsText() {
        return String.join("\n", maps) + "\n";
    }

    String smapsText() {
        return smaps.toString();
    }

    String statusText() {
        return "Name:\tsynthetic\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t4242\nVmRSS:\t    1024 kB\nVmPTE:\t" + String.format("%8d kB", vmPteKb)
                + "\nThreads:\t1\n";
    }

    byte[] pagemapBytes() {
        int n = 0;
        for (long[] e : pagemap) {
            n += e.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long[] e : pagemap) {
            for (long x : e) {
                b.putLong(x);
            }
        }
        return b.array();
    }

    Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("maps"), mapsText(), StandardCharsets.ISO_8859_1);
        Files.writeString(dir.resolve("smaps"), smapsText(), StandardCharsets.ISO_8859_1);
        Files.writeString(dir.resolve("status"), statusText(), StandardCharsets.ISO_8859_1);
        Files.write(dir.resolve("pagemap"), pagemapBytes());
        return dir;
    }

    static long[] pages(long n) {
        return new long[(int) n];
    }

    /**
     * The standard mixed layout: a 6 MiB anonymous VMA (one PMD-mapped THP, one region with a
     * swapped page and a guard marker, one empty region), a 4 MiB file VMA with one PMD-mapped
     * page-cache THP, a 4 MiB hugetlb VMA with one 2 MiB page, and the vsyscall line.
     * VmPTE: PTE tables 2 (region with swap+marker, THP deposit) + PMD 1 + PUD 1 = 16 kB.
     */
    static Synthetic mixed() {
        long base = 0x7f00_0000_0000L;
        long[] anon = pages(1536);
        for (int i = 0; i < 512; i++) {
            anon[i] = Pagemap.PRESENT | (1L << 56);
        }
        anon[512 + 7] = Pagemap.SWAPPED | 1 | (77L << 5);
        anon[512 + 9] = Pagemap.GUARD;
        long[] file = pages(1024);
        for (int i = 512; i < 1024; i++) {
            file[i] = Pagemap.PRESENT | Pagemap.FILE_OR_SHARED;
        }
        long[] huge = pages(1024);
        for (int i = 0; i < 512; i++) {
            huge[i] = Pagemap.PRESENT | Pagemap.FILE_OR_SHARED;
        }
        return new Synthetic()
                .vma(base, base + (6 << 20), "rw-p", "", anon, Map.of("AnonHugePages", 2048L), "rd wr mr mw me ac hg")
                .vma(base + (6 << 20), base + (10 << 20), "r-xp", "/usr/lib/libbig.so", file, Map.of("FilePmdMapped", 2048L),
                        "rd ex mr mw me")
                .vma(base + (10 << 20), base + (14 << 20), "rw-s", "/dev/hugepages/x", huge,
                        Map.of("KernelPageSize", 2048L, "MMUPageSize", 2048L, "Shared_Hugetlb", 2048L), "rd wr sh mr mw me ms de ht")
                .vma(0xffff_ffff_ff60_0000L, 0xffff_ffff_ff60_1000L, "--xp", "[vsyscall]", new long[0], Map.of(), "ex")
                .vmPteKb(16);
    }
}
