package ptlab.kmap;

import java.util.List;
import java.util.function.LongUnaryOperator;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.mm.Errno;
import ptlab.pgtable.Mm;
import ptlab.pgtable.MmKind;
import ptlab.pgtable.PageTables;
import ptlab.phys.PageDesc;
import ptlab.walk.Action;
import ptlab.walk.WalkCursor;
import ptlab.walk.WalkOps;
import ptlab.walk.WalkOptions;

/**
 * An efi_mm-like special address space (arm64 {@code efi_create_mapping} and
 * {@code efi_set_mapping_permissions}): runtime regions mapped with
 * {@code create_pgd_mapping(&efi_mm, ..., pgd_pgtable_alloc_special_mm)} - the ctor gets
 * {@code mm = NULL}, so PTE (and split PMD) tables get ptlocks - and later changed with
 * {@code apply_to_page_range(&efi_mm, ...)}, which takes each PTE table's lock
 * ({@code pte_alloc_map_lock}): without the ptlocks that fails (seed 002).
 */
public final class EfiMm {
    private final KernelMappings km;
    private final Mm mm;
    private final PgtableAllocFn alloc;

    /**
     * @param withPtlocks false reproduces the mistake seed 002 warns about: tables built as if
     *                    they were init_mm's
     */
    public EfiMm(KernelMappings km, boolean withPtlocks) {
        this.km = km;
        this.mm = km.pt.newMm("efi_mm", MmKind.SPECIAL);
        this.alloc = withPtlocks ? TableAllocators.specialMm(km.pt, mm) : TableAllocators.specialMmWithoutPtlocks(km.pt, mm);
    }

    public Mm mm() {
        return mm;
    }

    /**
     * {@code efi_create_mapping}: maps a runtime region 1:1 ({@code va == pa}, in the user half as
     * arm64's efi_mm does), with PTEs only when its permissions will be changed later
     * ({@code page_mappings_only}), else with the largest leaves.
     */
    public KmapResult map(long pa, long size, PageProt prot, boolean pageMappingsOnly) {
        if (!km.pt.arch().isUser(pa + size - 1)) {
            return KmapResult.invalid("EFI region [0x" + Long.toHexString(pa) + ", +0x" + Long.toHexString(size) + ") is not in the user half");
        }
        List<Level> leaves = pageMappingsOnly ? List.of(Level.PTE) : km.layout.blockLevels();
        UndoLog undo = new UndoLog(km.pt);
        KmapResult r = km.map(mm, pa, size, pa, prot, undo.wrap(alloc), leaves, km.layout.contMappings() && !pageMappingsOnly, undo, null);
        if (r.ok()) {
            undo.commit();
        } else {
            undo.undo();
            km.tracker.flushKernelRange(pa, pa + size);
        }
        return r;
    }

    /**
     * {@code apply_to_existing_page_range(&efi_mm, start, size, fn)}: {@code fn} maps each present
     * PTE to its new value, under the PTE table's ptlock. A leaf above the PTE level is EINVAL.
     */
    public KmapResult applyToExistingPageRange(long start, long size, LongUnaryOperator fn) {
        KmapResult[] res = {KmapResult.OK};
        km.walker.walk(mm, start, start + size, new WalkOps() {
            @Override
            public Action hugeLeaf(WalkCursor c) {
                res[0] = new KmapResult(Errno.EINVAL, "apply_to_page_range: " + c.level() + " leaf at 0x" + Long.toHexString(c.addr()));
                return Action.STOP;
            }

            @Override
            public Action pteRange(WalkCursor c, PageDesc table, int from, int to, long addr, long pageSize) {
                for (int i = from; i < to; i++, addr += pageSize) {
                    long e = PageTables.read(table, i);
                    if (!km.pt.format().isNone(e)) {
                        km.tracker.write(table, i, Level.PTE, addr, fn.applyAsLong(e), false);
                    }
                }
                return Action.CONTINUE;
            }
        }, WalkOptions.LOCKED);
        km.tracker.flushKernelRange(start, start + size);
        return res[0];
    }

    /** {@code efi_set_mapping_permissions}: make a region read-only or non-executable. */
    public KmapResult setPermissions(long start, long size, boolean readOnly, boolean noExec) {
        var f = km.pt.format();
        return applyToExistingPageRange(start, size, e -> {
            PageProt p = f.prot(Level.PTE, e);
            PageProt q = p.withWrite(p.write() && !readOnly).withExec(p.exec() && !noExec);
            return f.mkLeaf(Level.PTE, f.outputAddress(Level.PTE, e), q);
        });
    }
}
