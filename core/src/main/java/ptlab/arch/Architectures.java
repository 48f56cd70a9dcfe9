package ptlab.arch;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** The named architectures ptlab models, and lookup by name. */
public final class Architectures {
    /** The configuration of this machine's kernel and the default everywhere. */
    public static final String DEFAULT = "x86_64-4l";

    private static final Map<String, Architecture> BY_NAME = new LinkedHashMap<>();

    static {
        register(x86(4));
        register(x86(5));
        register(arm64(12, 39));
        register(arm64(12, 48));
        register(arm64(12, 52));
        register(arm64(14, 36));
        register(arm64(14, 47));
        register(arm64(14, 52));
        register(arm64(16, 42));
        register(arm64(16, 48));
        register(arm64(16, 52));
        register(riscv(39));
        register(riscv(48));
        register(riscv(57));
    }

    private Architectures() {}

    private static void register(Architecture a) {
        BY_NAME.put(a.name(), a);
    }

    /** Every architecture, in a stable order. */
    public static java.util.Collection<Architecture> all() {
        return Collections.unmodifiableCollection(BY_NAME.values());
    }

    public static java.util.Set<String> names() {
        return Collections.unmodifiableSet(BY_NAME.keySet());
    }

    /**
     * Looks an architecture up by name.
     *
     * @throws UnknownArchitectureException if there is none of that name
     */
    public static Architecture byName(String name) {
        Architecture a = BY_NAME.get(name);
        if (a == null) {
            throw new UnknownArchitectureException(name, BY_NAME.keySet());
        }
        return a;
    }

    public static Architecture defaultArch() {
        return byName(DEFAULT);
    }

    /* ---- x86-64 ---- */

    private static Architecture x86(int levels) {
        Set<Level> present = levels == 5 ? EnumSet.allOf(Level.class) : EnumSet.of(Level.PGD, Level.PUD, Level.PMD, Level.PTE);
        int va = levels == 5 ? 57 : 48;
        Geometry g = new StandardGeometry(12, va, present, EnumSet.of(Level.PUD, Level.PMD), Map.of());
        // TASK_SIZE_MAX is one page below the top of the lower half; tables span the whole half.
        long userTop = 1L << (va - 1);
        // 4-level: p4d_populate is the PGD write (P4D folded), so PGTBL_P4D_MODIFIED triggers the sync.
        Set<Level> sync = EnumSet.of(levels == 5 ? Level.PGD : Level.P4D);
        return new Architecture("x86_64-" + levels + "l", g, new X86Format(), 1, userTop, 256, sync, -userTop);
    }

    /* ---- arm64 ---- */

    /**
     * An arm64 configuration ({@code arch/arm64/Kconfig}, {@code pgtable-hwdef.h}). 52-bit VA
     * goes with 52-bit PA: LPA2 for 4K/16K, FEAT_LPA for 64K. Linux maps blocks at the PMD level
     * and, at the level whose entries map 1G/64G/4T, only where the architecture allows it:
     * always with 4K, with LPA2 for 16K, with 52-bit PA for 64K.
     */
    private static Architecture arm64(int pageShift, int va) {
        int levels = (va - 4) / (pageShift - 3); // ARM64_HW_PGTABLE_LEVELS
        Set<Level> present = presentLevels(levels);
        int paBits = va == 52 ? 52 : 48;
        Level pmdHolder = holder(present, Level.PMD);
        Set<Level> leaves = EnumSet.of(pmdHolder);
        if (pageShift == 12 || paBits == 52) {
            leaves.add(holder(present, Level.PUD));
        }
        int contPtes = pageShift == 12 ? 16 : pageShift == 14 ? 128 : 32; // CONT_PTES
        int contPmds = pageShift == 12 ? 16 : 32; // CONT_PMDS
        Map<Level, Integer> cont = new EnumMap<>(Level.class);
        cont.put(Level.PTE, contPtes);
        cont.put(pmdHolder, contPmds);
        Geometry g = new StandardGeometry(pageShift, va, present, leaves, cont);
        // TTBR0 spans [0, 2^va) for user space, TTBR1 [-2^va, 0) with swapper_pg_dir as its own root.
        long span = 1L << va;
        String name = "arm64-" + (1 << (pageShift - 10)) + "k-" + va;
        return new Architecture(name, g, new Arm64Format(g, paBits), 0, span, -1, EnumSet.noneOf(Level.class), -span);
    }

    /* ---- RISC-V ---- */

    /**
     * Sv39/Sv48/Sv57 ({@code arch/riscv/include/asm/pgtable-64.h}): leaves at every level,
     * Svnapot 64 KiB runs of 16 PTEs. {@code pgd_alloc} copies the upper half of
     * {@code swapper_pg_dir}, whose kernel entries are preallocated at boot, so no sync is needed.
     */
    private static Architecture riscv(int va) {
        int levels = (va - 12) / 9;
        Set<Level> present = presentLevels(levels);
        Geometry g = new StandardGeometry(12, va, present, present, Map.of(Level.PTE, 16));
        long userTop = 1L << (va - 1);
        return new Architecture("riscv-sv" + va, g, new RiscvFormat(g), 0, userTop, g.entries(Level.PGD) / 2,
                EnumSet.noneOf(Level.class), -userTop);
    }

    /* ---- Folding ---- */

    /** Linux folds P4D below 5 levels, PUD below 4 ({@code pgtable-nopud.h}), PMD below 3. */
    private static Set<Level> presentLevels(int levels) {
        switch (levels) {
            case 5:
                return EnumSet.allOf(Level.class);
            case 4:
                return EnumSet.of(Level.PGD, Level.PUD, Level.PMD, Level.PTE);
            case 3:
                return EnumSet.of(Level.PGD, Level.PMD, Level.PTE);
            case 2:
                return EnumSet.of(Level.PGD, Level.PTE);
            default:
                throw new IllegalArgumentException("unsupported level count " + levels);
        }
    }

    /** The present level whose entries are {@code level}'s: itself or the nearest present one above. */
    private static Level holder(Set<Level> present, Level level) {
        Level l = level;
        while (!present.contains(l)) {
            l = l.upper();
        }
        return l;
    }
}
