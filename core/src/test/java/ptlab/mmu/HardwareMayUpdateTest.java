package ptlab.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ptlab.arch.Architecture;
import ptlab.arch.Architectures;
import ptlab.arch.Level;
import ptlab.arch.PageProt;
import ptlab.arch.PteFormat;

/**
 * {@link PteFormat#hardwareMayUpdate} promises that the MMU never writes an entry it says
 * false for; software relies on it to skip an atomic exchange. Checked against the hardware
 * rules of every architecture: for every protection, privilege and access kind the walk would
 * allow, the A/D update of such an entry leaves it unchanged.
 */
class HardwareMayUpdateTest {
    static java.util.Collection<Architecture> archs() {
        return Architectures.all();
    }

    @ParameterizedTest
    @MethodSource("archs")
    void entriesTheMmuCannotUpdateAreNeverWrittenByIt(Architecture a) {
        PteFormat f = a.format();
        HardwareRules rules = HardwareRules.of(f);
        SplittableRandom r = new SplittableRandom(3);
        int stable = 0;
        for (int i = 0; i < 128 * 3; i++) {
            PageProt p = new PageProt((i & 1) != 0, (i & 2) != 0, (i & 4) != 0, (i & 8) != 0, (i & 16) != 0, (i & 32) != 0,
                    (i & 64) != 0, ptlab.arch.MemType.values()[i >>> 7]);
            long e = f.mkLeaf(Level.PTE, (r.nextLong(1L << 20) + 1) << 16, p);
            if (f.hardwareMayUpdate(e)) {
                continue;
            }
            stable++;
            if (!f.isValid(e)) {
                continue; // the walk faults before any update (HardwareWalker: !isValid -> NOT_PRESENT)
            }
            int rights = rules.leafRights(Level.PTE, e);
            for (Privilege pv : Privilege.values()) {
                for (AccessKind k : AccessKind.values()) {
                    if ((rights & Rights.need(k, pv)) == 0) {
                        continue; // a permission fault, again before any update
                    }
                    assertThat(rules.updateAccessed(e, k)).as("%s %s %s %s", a, p, pv, k).isEqualTo(e);
                }
            }
        }
        if (!a.name().startsWith("arm64")) {
            assertThat(stable).as("young+dirty and read-only-young entries are stable").isPositive();
        }
    }
}
