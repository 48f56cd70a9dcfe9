package ptlab.kmap;

import java.util.ArrayList;
import java.util.List;
import ptlab.arch.Architecture;
import ptlab.arch.Arm64Format;
import ptlab.arch.Geometry;
import ptlab.arch.Level;
import ptlab.arch.X86Format;
import ptlab.phys.BuddyAllocator;

/**
 * Where the kernel's mappings live in one architecture's upper half, and which leaf sizes
 * the linear map may use.
 *
 * <ul>
 * <li>x86-64 ({@code Documentation/arch/x86/x86_64/mm.rst}): 4-level page_offset_base
 *     {@code 0xffff888000000000}, vmalloc {@code 0xffffc90000000000} (32 TiB), vmemmap
 *     {@code 0xffffea0000000000}; 5-level {@code 0xff11000000000000},
 *     {@code 0xffa0000000000000} (12.5 PiB), {@code 0xffd4000000000000}. 1G (gbpages) and 2M leaves.</li>
 * <li>arm64 ({@code asm/memory.h}): the linear map is the lower half of TTBR1,
 *     {@code [_PAGE_OFFSET(va), _PAGE_END(va))}; vmemmap ends at {@code -SZ_1G} and spans
 *     {@code VMEMMAP_SIZE}; vmalloc runs from the modules area to 256 MiB below vmemmap. Blocks
 *     at the PMD level, and at the PUD level only with 4K pages ({@code pud_sect_supported}),
 *     contiguous PTEs and PMDs where not forced to PTEs.</li>
 * <li>RISC-V ({@code asm/pgtable.h}): PAGE_OFFSET {@code 0xffffffd600000000} (Sv39),
 *     {@code 0xffffaf8000000000} (Sv48), {@code 0xff60000000000000} (Sv57); vmalloc is the half
 *     of the kernel space below PAGE_OFFSET and vmemmap sits below it. {@code best_map_size}:
 *     P4D leaves with Sv57, PUD with Sv48+, PMD always; no Svnapot in the linear map.</li>
 * </ul>
 *
 * @param pageOffset     first linear-map address (maps physical address 0)
 * @param linearEnd      end of the linear-map window ({@code PAGE_END})
 * @param vmallocStart   vmalloc area start
 * @param vmallocEnd     vmalloc area end
 * @param vmemmapStart   address of {@code struct page} of pfn 0
 * @param structPage     {@code sizeof(struct page)}
 * @param blockLevels    run-time levels the linear map may place leaves at, largest first (PTE last)
 * @param contMappings   whether contiguous runs are used (arm64 without NO_CONT_MAPPINGS)
 * @param vmemmapLevel   leaf level of vmemmap ({@code vmemmap_populate_hugepages} where the block is a buddy block, else PTE)
 */
public record KernelLayout(
        long pageOffset,
        long linearEnd,
        long vmallocStart,
        long vmallocEnd,
        long vmemmapStart,
        int structPage,
        List<Level> blockLevels,
        boolean contMappings,
        Level vmemmapLevel) {

    public static final int STRUCT_PAGE = 64;

    /** The layout Linux uses for {@code arch}. */
    public static KernelLayout of(Architecture arch) {
        Geometry g = arch.geometry();
        int va = g.vaBits();
        List<Level> blocks = new ArrayList<>();
        long pageOffset;
        long linearEnd;
        long vmallocStart;
        long vmallocEnd;
        long vmemmap;
        boolean cont = false;
        if (arch.format() instanceof X86Format) {
            boolean five = va == 57;
            pageOffset = five ? 0xff11000000000000L : 0xffff888000000000L;
            linearEnd = pageOffset + (five ? 1L << 52 : 1L << 46);
            vmallocStart = five ? 0xffa0000000000000L : 0xffffc90000000000L;
            vmallocEnd = vmallocStart + (five ? 12800L << 40 : 32L << 40) - 1;
            vmemmap = five ? 0xffd4000000000000L : 0xffffea0000000000L;
            add(blocks, g, Level.PUD);
            add(blocks, g, Level.PMD);
        } else if (arch.format() instanceof Arm64Format) {
            pageOffset = -(1L << va);
            linearEnd = -(1L << (va - 1));
            long vmemmapSize = ((linearEnd - pageOffset) >>> g.pageShift()) * STRUCT_PAGE;
            long vmemmapEnd = -(1L << 30);
            vmemmap = vmemmapEnd - vmemmapSize;
            vmallocStart = linearEnd + (2L << 30); // MODULES_VADDR + MODULES_VSIZE (KASAN off)
            vmallocEnd = vmemmap - (256L << 20) - 1;
            if (g.pageShift() == 12) {
                add(blocks, g, Level.PUD);
            }
            add(blocks, g, Level.PMD);
            cont = true;
        } else {
            pageOffset = va == 39 ? 0xffffffd600000000L : va == 48 ? 0xffffaf8000000000L : 0xff60000000000000L;
            long kernVirt = -pageOffset;
            vmallocEnd = pageOffset - 1;
            vmallocStart = pageOffset - (kernVirt >>> 1);
            long vmemmapSize = Long.highestOneBit(kernVirt >>> 1 >>> g.pageShift()) * STRUCT_PAGE;
            vmemmap = vmallocStart - vmemmapSize;
            linearEnd = pageOffset + (kernVirt >>> 1);
            if (va == 57) {
                add(blocks, g, Level.P4D);
            }
            if (va >= 48) {
                add(blocks, g, Level.PUD);
            }
            add(blocks, g, Level.PMD);
        }
        blocks.add(Level.PTE);
        Level pmd = g.holder(Level.PMD);
        long pmdPages = g.entrySize(pmd) >>> g.pageShift();
        Level vmemmapLevel = pmd != Level.PTE && g.leafAllowed(pmd) && Long.numberOfTrailingZeros(pmdPages) <= BuddyAllocator.MAX_ORDER
                ? pmd : Level.PTE;
        return new KernelLayout(pageOffset, linearEnd, vmallocStart, vmallocEnd, vmemmap, STRUCT_PAGE, List.copyOf(blocks), cont,
                vmemmapLevel);
    }

    private static void add(List<Level> blocks, Geometry g, Level want) {
        Level l = g.holder(want);
        if (l != Level.PTE && g.leafAllowed(l) && !blocks.contains(l)) {
            blocks.add(l);
        }
    }

    /** {@code __va(pa)}: the linear-map address of a physical address. */
    public long linearVa(long pa) {
        return pageOffset + pa;
    }

    /** {@code pfn_to_page(pfn)}: the vmemmap address of a pfn's struct page. */
    public long structPageVa(long pfn) {
        return vmemmapStart + pfn * structPage;
    }
}
