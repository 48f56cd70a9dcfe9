package ptlab.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.check.CheckedKernels;

/**
 * Every architecture: every leaf level × entry permission bits × privilege × access kind, and
 * every table level × table attribute bits, against tables written by hand from the manuals
 * (Intel SDM vol. 3A 4.6; Arm ARM D8.4 and the AP[2:1] table; RISC-V privileged spec, Sv39
 * translation process). Each access starts from a freshly written entry and an empty TLB.
 *
 * <p>Result letters, per column U-read U-write U-exec K-read K-write K-exec:
 * {@code .} mapped, {@code U} privilege, {@code W} write-protected, {@code X} no-execute,
 * {@code R} no-read, {@code G} user-page guard (SMAP/SMEP, PAN, SUM), {@code V} reserved.
 * Where two rules forbid an access the letter follows FaultReason's documented order
 * (privilege, then the access kind, then the guard).
 */
class PermissionMatrixTest {
    @RegisterExtension
    final CheckedKernels checked = new CheckedKernels();

    /** x86, CR0.WP=1, SMEP=1, SMAP=1, EFLAGS.AC=0. Row key: US RW NX. */
    static final String[] X86_LEAF = {
        "000 UUU.W.", "001 UUU.WX", "010 UUU...", "011 UUU..X",
        "100 .W.GWG", "101 .WXGWX", "110 ...GGG", "111 ..XGGX",
    };
    /** x86 table entry (leaf US=1 RW=1 NX=0): the same AND over levels. Row key: table US RW NX. */
    static final String[] X86_TABLE = X86_LEAF;

    /** arm64, PAN=1, HA=HD=1, WXN=0. Row key: AP[2] AP[1] DBM UXN PXN. */
    static final String[] ARM64_LEAF = {
        "00000 RW....", "00001 RW...X", "00010 UUU...", "00011 UUU..X",
        "00100 RW....", "00101 RW...X", "00110 UUU...", "00111 UUU..X",
        "01000 ...GGX", "01001 ...GGX", "01010 ..XGGX", "01011 ..XGGX",
        "01100 ...GGX", "01101 ...GGX", "01110 ..XGGX", "01111 ..XGGX",
        "10000 RW..W.", "10001 RW..WX", "10010 UUU.W.", "10011 UUU.WX",
        "10100 RW....", "10101 RW...X", "10110 UUU...", "10111 UUU..X",
        "11000 .W.GW.", "11001 .W.GWX", "11010 .WXGW.", "11011 .WXGWX",
        "11100 ...GG.", "11101 ...GGX", "11110 ..XGG.", "11111 ..XGGX",
    };
    /** arm64 table entry (leaf AP=11 DBM=1 UXN=0 PXN=0). Row key: APTable[1] APTable[0] UXNTable PXNTable. */
    static final String[] ARM64_TABLE = {
        "0000 ...GG.", "0001 ...GGX", "0010 ..XGG.", "0011 ..XGGX",
        "0100 RW....", "0101 RW...X", "0110 UUU...", "0111 UUU..X",
        "1000 .W.GW.", "1001 .W.GWX", "1010 .WXGW.", "1011 .WXGWX",
        "1100 RW..W.", "1101 RW..WX", "1110 UUU.W.", "1111 UUU.WX",
    };

    /** RISC-V, SUM=0, MXR=0, Svadu. Row key: U X W R. R=W=X=0 is a pointer above the last level. */
    static final String[] RISCV_LEAF = {
        "0000 VVVVVV", "0001 UUU.WX", "0010 VVVVVV", "0011 UUU..X",
        "0100 UUURW.", "0101 UUU.W.", "0110 VVVVVV", "0111 UUU...",
        "1000 VVVVVV", "1001 .WXGWX", "1010 VVVVVV", "1011 ..XGGX",
        "1100 RW.RWG", "1101 .W.GWG", "1110 VVVVVV", "1111 ...GGG",
    };
    /** RISC-V table entry (leaf U RWX): no permission bits; D, A, U on a non-leaf are reserved. Row key: D A U. */
    static final String[] RISCV_TABLE = {
        "000 ...GGG", "001 VVVVVV", "010 VVVVVV", "100 VVVVVV",
    };

    static Stream<String> archs() {
        return Architectures.names().stream();
    }

    private static final AccessKind[] KINDS = {AccessKind.READ, AccessKind.WRITE, AccessKind.EXEC};
    private static final Privilege[] PRIVS = {Privilege.USER, Privilege.KERNEL};

    @ParameterizedTest
    @MethodSource("archs")
    void leafMatrix(String name) {
        MmuFixture f = new MmuFixture(checked, Architectures.byName(name));
        List<String> bad = new ArrayList<>();
        int checkedCases = 0;
        for (Level l : f.geo.levels()) {
            if (!f.geo.leafAllowed(l)) {
                continue;
            }
            long va = f.va(l);
            f.neutralPath(va, l);
            for (String row : leafRows(f)) {
                String bits = row.substring(0, row.indexOf(' '));
                if (f.family().equals("riscv") && bits.substring(1).equals("000") && l != Level.PTE) {
                    continue; // a table pointer, not a leaf
                }
                long word = leafWord(f, l, bits);
                checkedCases += check(f, va, l, word, f.pa(l), row, "leaf " + l, bad);
            }
            f.restore();
        }
        assertTrue(bad.isEmpty(), name + ": " + bad.size() + " mismatches, first " + bad.subList(0, Math.min(8, bad.size())));
        assertTrue(checkedCases >= 8 * 6, "cases run: " + checkedCases);
    }

    @ParameterizedTest
    @MethodSource("archs")
    void tableMatrix(String name) {
        MmuFixture f = new MmuFixture(checked, Architectures.byName(name));
        List<String> bad = new ArrayList<>();
        long va = f.va(Level.PTE);
        for (Level tl : f.geo.levels()) {
            if (tl == Level.PTE) {
                continue;
            }
            f.neutralPath(va, Level.PTE);
            long leaf = leafWord(f, Level.PTE, f.family().equals("x86") ? "110" : f.family().equals("arm64") ? "11100" : "1111");
            f.set(va, Level.PTE, leaf);
            long neutral = f.get(va, tl);
            for (String row : tableRows(f)) {
                String bits = row.substring(0, row.indexOf(' '));
                f.set(va, tl, tableWord(f, neutral, bits));
                check(f, va, Level.PTE, leaf, f.pa(Level.PTE), row, "table " + tl, bad);
            }
            f.restore();
        }
        assertTrue(bad.isEmpty(), name + ": " + bad.size() + " mismatches, first " + bad.subList(0, Math.min(8, bad.size())));
    }

    /** Runs the six accesses of one row, each on a freshly written entry; returns the number run. */
    private static int check(MmuFixture f, long va, Level level, long word, long pa, String row, String where, List<String> bad) {
        String expect = row.substring(row.indexOf(' ') + 1);
        int col = 0;
        for (Privilege p : PRIVS) {
            for (AccessKind kind : KINDS) {
                f.set(va, level, word);
                Translation t = f.cpu.translate(va + 0x10, kind, p);
                char got = letter(t);
                char want = expect.charAt(col);
                if (got != want) {
                    bad.add(where + " row " + row + " " + p + " " + kind + ": got " + got + " (" + t + ") want " + want);
                } else if (t instanceof Translation.Mapped) {
                    Translation.Mapped m = (Translation.Mapped) t;
                    assertEquals(pa + 0x10, m.pa(), where + " " + row);
                    assertEquals(level, m.level(), where + " " + row);
                }
                col++;
            }
        }
        return 6;
    }

    private static char letter(Translation t) {
        if (t instanceof Translation.Mapped) {
            return '.';
        }
        switch (((Translation.Fault) t).reason()) {
            case PRIVILEGE:
                return 'U';
            case WRITE_PROTECTED:
                return 'W';
            case NO_EXECUTE:
                return 'X';
            case NO_READ:
                return 'R';
            case USER_PAGE_GUARD:
                return 'G';
            case RESERVED:
                return 'V';
            case NOT_PRESENT:
                return 'T';
            default:
                return '?';
        }
    }

    private static String[] leafRows(MmuFixture f) {
        switch (f.family()) {
            case "x86":
                return X86_LEAF;
            case "arm64":
                return ARM64_LEAF;
            default:
                return RISCV_LEAF;
        }
    }

    private static String[] tableRows(MmuFixture f) {
        switch (f.family()) {
            case "x86":
                return X86_TABLE;
            case "arm64":
                return ARM64_TABLE;
            default:
                return RISCV_TABLE;
        }
    }

    private static boolean b(String bits, int i) {
        return bits.charAt(i) == '1';
    }

    private static long leafWord(MmuFixture f, Level l, String bits) {
        long pa = f.pa(l);
        switch (f.family()) {
            case "x86":
                return MmuFixture.x86Leaf(l, pa, b(bits, 0), b(bits, 1), b(bits, 2));
            case "arm64":
                return MmuFixture.arm64Leaf(l, pa, b(bits, 0), b(bits, 1), b(bits, 2), b(bits, 3), b(bits, 4));
            default:
                return MmuFixture.riscvLeaf(pa, b(bits, 3), b(bits, 2), b(bits, 1), b(bits, 0));
        }
    }

    /** The neutral table word with a row's attribute bits. */
    private static long tableWord(MmuFixture f, long neutral, String bits) {
        switch (f.family()) {
            case "x86": // US (bit 2), RW (bit 1), NX (bit 63)
                return (neutral & ~6L) | (b(bits, 0) ? 4 : 0) | (b(bits, 1) ? 2 : 0) | (b(bits, 2) ? 1L << 63 : 0);
            case "arm64": // APTable[1] (62), APTable[0] (61), UXNTable (60), PXNTable (59)
                return neutral | (b(bits, 0) ? 1L << 62 : 0) | (b(bits, 1) ? 1L << 61 : 0) | (b(bits, 2) ? 1L << 60 : 0)
                        | (b(bits, 3) ? 1L << 59 : 0);
            default: // D (7), A (6), U (4)
                return neutral | (b(bits, 0) ? 1L << 7 : 0) | (b(bits, 1) ? 1L << 6 : 0) | (b(bits, 2) ? 1L << 4 : 0);
        }
    }
}
