package ptlab.snapshot;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The captured pagemap: one little-endian u64 per 4 KiB page, the pages of each maps line
 * below {@link #USER_LIMIT} in order ({@code Documentation/admin-guide/mm/pagemap.rst}).
 * Memory-mapped read-only, so a 12 MB file costs no copy. With a capture's
 * {@link PagemapIndex} only the extents that can hold occupied entries are read ({@link #onlyIn}).
 */
/*
 * Implementation notes. Entry bits: 63 present, 62 swapped, 61 file-page or shared-anon,
 * 58 guard region (a PTE marker), 57 uffd-wp write-protected, 56 exclusively mapped,
 * 55 soft-dirty; 0-54 the pfn when present (zero without CAP_SYS_ADMIN), or swap type (0-4)
 * and offset (5-54) when swapped. Every entry that is present, swapped, a guard marker or a
 * uffd-wp marker stands for a non-none PTE, so its PTE table exists.
 */
public final class Pagemap {
    /** Lines starting at or above this (x86 vsyscall) have no entries in the file. */
    public static final long USER_LIMIT = 0x8000_0000_0000L;

    public static final long PRESENT = 1L << 63;
    public static final long SWAPPED = 1L << 62;
    public static final long FILE_OR_SHARED = 1L << 61;
    public static final long GUARD = 1L << 58;
    public static final long UFFD_WP = 1L << 57;
    /** The bits that mean "this PTE is not none". */
    public static final long OCCUPIED = PRESENT | SWAPPED | GUARD | UFFD_WP;

    private static final int CHUNK_SHIFT = 30;

    private final MappedByteBuffer[] chunks;
    private final long entries;
    /** Half-open extents of entry indices that may hold occupied entries (ascending, disjoint); none outside them. */
    private final long[] extentFrom;
    private final long[] extentTo;

    private Pagemap(MappedByteBuffer[] chunks, long entries, long[] extentFrom, long[] extentTo) {
        this.chunks = chunks;
        this.entries = entries;
        this.extentFrom = extentFrom;
        this.extentTo = extentTo;
    }

    /**
     * This pagemap, read only within {@code extents} ({from, to} arrays, as {@link PagemapIndex}
     * gives them) by {@link #occupied}: the caller vouches that no entry outside them is occupied.
     * {@code null} keeps every entry.
     */
    public Pagemap onlyIn(long[][] extents) {
        return extents == null ? this : new Pagemap(chunks, entries, extents[0], extents[1]);
    }

    /**
     * Maps {@code file} and checks it holds exactly {@code expectedEntries} entries.
     *
     * @throws SnapshotFormatException if it is missing, unreadable, not a whole number of
     *                                 entries, or not the length the maps imply
     */
    public static Pagemap open(Path file, String name, long expectedEntries) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size % 8 != 0) {
                throw new SnapshotFormatException(name, "truncated: " + size + " bytes is not a whole number of 8-byte entries");
            }
            if (size / 8 != expectedEntries) {
                throw new SnapshotFormatException(name, (size / 8 < expectedEntries ? "shorter" : "longer") + " than the maps imply: "
                        + size / 8 + " entries, but the mappings below 0x800000000000 span " + expectedEntries + " pages");
            }
            int n = (int) ((size + (1L << CHUNK_SHIFT) - 1) >>> CHUNK_SHIFT);
            MappedByteBuffer[] chunks = new MappedByteBuffer[n];
            for (int i = 0; i < n; i++) {
                long off = (long) i << CHUNK_SHIFT;
                chunks[i] = ch.map(FileChannel.MapMode.READ_ONLY, off, Math.min(1L << CHUNK_SHIFT, size - off));
                chunks[i].order(ByteOrder.LITTLE_ENDIAN);
            }
            long n8 = size / 8;
            // Until onlyIn: one extent of every entry (none for an empty file).
            return new Pagemap(chunks, n8, n8 == 0 ? new long[0] : new long[] {0}, n8 == 0 ? new long[0] : new long[] {n8});
        } catch (java.nio.file.NoSuchFileException e) {
            throw new SnapshotFormatException(name, "missing (a capture holds maps, smaps, status and pagemap)");
        } catch (IOException e) {
            throw new SnapshotFormatException(name, "cannot read (" + ptlab.TextInput.reason(e) + ")");
        }
    }

    public long entries() {
        return entries;
    }

    /** Entry {@code i} (0-based over the whole file). */
    public long get(long i) {
        long byteOff = i << 3;
        return chunks[(int) (byteOff >>> CHUNK_SHIFT)].getLong((int) (byteOff & ((1L << CHUNK_SHIFT) - 1)));
    }

    /**
     * The occupied entries among {@code n} entries from {@code first}: their offsets from
     * {@code first} and their values, read in bulk (a scan that stays fast before the JIT warms up).
     * Only the parts within the extents are read ({@link #onlyIn}).
     */
    public Occupied occupied(long first, long n) {
        Collector c = new Collector(first);
        long end = first + n;
        int k = java.util.Arrays.binarySearch(extentTo, first + 1);
        for (k = k < 0 ? -k - 1 : k; k < extentFrom.length && extentFrom[k] < end; k++) {
            long from = Math.max(first, extentFrom[k]);
            scan(from, Math.min(end, extentTo[k]) - from, c);
        }
        return c.result();
    }

    /** Adds the occupied entries among {@code n} entries from {@code from} to {@code c}. */
    private void scan(long from, long n, Collector c) {
        long[] buf = new long[(int) Math.min(n, 1 << 16)];
        for (long done = 0; done < n;) {
            long byteOff = (from + done) << 3;
            int chunk = (int) (byteOff >>> CHUNK_SHIFT);
            int inChunk = (int) (byteOff & ((1L << CHUNK_SHIFT) - 1));
            int len = (int) Math.min(Math.min(buf.length, n - done), ((1L << CHUNK_SHIFT) - inChunk) >>> 3);
            chunks[chunk].slice(inChunk, len * 8).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(buf, 0, len);
            for (int i = 0; i < len; i++) {
                if ((buf[i] & OCCUPIED) != 0) {
                    c.add(from + done + i, buf[i]);
                }
            }
            done += len;
        }
    }

    /** Occupied entries found so far, as offsets from {@code first}. */
    private static final class Collector {
        private final long first;
        private long[] idx = new long[16];
        private long[] val = new long[16];
        private int count;

        Collector(long first) {
            this.first = first;
        }

        void add(long i, long e) {
            if (count == idx.length) {
                idx = java.util.Arrays.copyOf(idx, count * 2);
                val = java.util.Arrays.copyOf(val, count * 2);
            }
            idx[count] = i - first;
            val[count] = e;
            count++;
        }

        Occupied result() {
            return new Occupied(java.util.Arrays.copyOf(idx, count), java.util.Arrays.copyOf(val, count));
        }
    }

    /** Offsets (ascending) and values of occupied entries. */
    public record Occupied(long[] index, long[] value) {
        public int size() {
            return index.length;
        }
    }

    public static boolean occupied(long e) {
        return (e & OCCUPIED) != 0;
    }

    /** The swap type of PTE markers ({@code SWP_PTE_MARKER}: the top of the 5-bit type space). */
    public static final int SWAP_TYPE_MARKER = 31;

    /**
     * Whether a non-present entry is a PTE marker (guard region, uffd-wp on a none PTE) rather
     * than a swapped or migrating page. {@code pte_to_pagemap_entry} sets PM_SWAP for every
     * swap-format PTE, markers included, and PM_GUARD_REGION on top for a guard: so the guard
     * bit decides, or, in a capture made as root (swap type visible), type SWP_PTE_MARKER.
     */
    public static boolean isMarker(long e) {
        return (e & PRESENT) == 0 && ((e & GUARD) != 0 || ((e & SWAPPED) != 0 && swapType(e) == SWAP_TYPE_MARKER));
    }

    /** Swap type (bits 0-4) of a swapped entry. */
    public static int swapType(long e) {
        return (int) (e & 31);
    }

    /** Swap offset (bits 5-54) of a swapped entry. */
    public static long swapOffset(long e) {
        return (e >>> 5) & ((1L << 50) - 1);
    }
}
