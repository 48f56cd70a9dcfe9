package ptlab.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Builds capture directories by hand, in the kernel's formats, for exact expectations. */
final class Synthetic {
    private final List<String> maps = new ArrayList<>();
    private final StringBuilder smaps = new StringBuilder();
    /** The pagemap entries that are not zero, by index in the file; all others are zero. */
    private final TreeMap<Long, Long> pagemap = new TreeMap<>();
    private long pagemapEntries;
    private long vmPteKb;

    /** Adds a VMA; {@code entries} are its pagemap entries (length = pages), {@code kb} its smaps counters. */
    Synthetic vma(long start, long end, String perms, String path, long[] entries, Map<String, Long> kb, String vmFlags) {
        if (Long.compareUnsigned(start, Pagemap.USER_LIMIT) < 0 && entries.length != (end - start) >> 12) {
            throw new IllegalArgumentException("entries must cover the VMA");
        }
        Map<Long, Long> byPage = new TreeMap<>();
        for (int i = 0; i < entries.length; i++) {
            if (entries[i] != 0) {
                byPage.put((long) i, entries[i]);
            }
        }
        return sparseVma(start, end, perms, path, byPage, kb, vmFlags);
    }

    /** Adds a VMA whose pagemap entries are zero but for {@code byPage} (page index in the VMA to entry): VMAs of any size. */
    Synthetic sparseVma(long start, long end, String perms, String path, Map<Long, Long> byPage, Map<String, Long> kb, String vmFlags) {
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
            for (Map.Entry<Long, Long> e : byPage.entrySet()) {
                pagemap.put(pagemapEntries + e.getKey(), e.getValue());
            }
            pagemapEntries += (end - start) >> 12;
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
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(pagemapEntries * 8)).order(ByteOrder.LITTLE_ENDIAN);
        pagemap.forEach((i, e) -> b.putLong((int) (i * 8), e));
        return b.array();
    }

    /** Writes the capture without a pagemap.index; the pagemap is sparse (only its non-zero entries are written). */
    Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("maps"), mapsText(), StandardCharsets.ISO_8859_1);
        Files.writeString(dir.resolve("smaps"), smapsText(), StandardCharsets.ISO_8859_1);
        Files.writeString(dir.resolve("status"), statusText(), StandardCharsets.ISO_8859_1);
        try (FileChannel ch = FileChannel.open(dir.resolve("pagemap"), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (Map.Entry<Long, Long> e : pagemap.entrySet()) {
                ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, e.getValue()), e.getKey() * 8);
            }
            if (ch.size() < pagemapEntries * 8) {
                ch.write(ByteBuffer.allocate(8), pagemapEntries * 8 - 8);
            }
        }
        return dir;
    }

    /** {@link #write}, and a pagemap.index as a capture writes it: an extent for each occupied entry. */
    Path writeIndexed(Path dir) throws IOException {
        PagemapIndex.Builder index = new PagemapIndex.Builder();
        pagemap.forEach((i, e) -> {
            if (Pagemap.occupied(e)) {
                index.add(i, i + 1);
            }
        });
        write(dir);
        index.write(dir);
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
