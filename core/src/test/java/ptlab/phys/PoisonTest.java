package ptlab.phys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ptlab.cpu.Violation;
import ptlab.cpu.ViolationException;

/** Freed table frames read as {@link PageDesc#POISON}, and reading one is a reported use-after-free. */
class PoisonTest {
    @RegisterExtension
    final BuddyCheckExtension checked = new BuddyCheckExtension();

    @ParameterizedTest(name = "shift {0}")
    @ValueSource(ints = {12, 14, 16})
    void aNewTableIsZeroedAndAFreedOneIsPoisoned(int pageShift) {
        BuddyAllocator a = checked.allocator(pageShift, 1L << (pageShift + BuddyAllocator.MAX_ORDER));
        PhysicalMemory mem = a.memory();
        long pfn = a.allocate(0, Gfp.PGTABLE_KERNEL, "pte_alloc_one").pfnOrThrow();
        assertThat(mem.descOrNull(pfn)).isNull();
        PageDesc d = mem.tableDesc(pfn, true);
        assertThat(d.pfn()).isEqualTo(pfn);
        assertThat(d.words()).hasSize(1 << (pageShift - 3)).containsOnly(0L);
        assertThat(d.poisoned()).isFalse();
        assertThat(mem.descAt(mem.paOf(pfn))).isSameAs(d);
        Words.setRelease(d.words(), 7, 0x1234_5003L);
        d.pageTable = true;
        d.order = 0;

        a.free(pfn, 0);
        assertThat(d.poisoned()).isTrue();
        assertThat(d.words()).containsOnly(PageDesc.POISON);
        assertThat(d.pageTable).isFalse();
        assertThat(mem.descOrNull(pfn)).isSameAs(d);
    }

    @Test
    void readingAFreedTableIsAUseAfterFreeNamingTheReader() {
        BuddyAllocator a = checked.allocator(1);
        PhysicalMemory mem = a.memory();
        long pfn = a.allocate(0, Gfp.PGTABLE_KERNEL, "pte_alloc_one").pfnOrThrow();
        PageDesc d = mem.tableDesc(pfn, true);
        assertThat(mem.readWord(d, 3, "walker")).isZero();
        assertThat(mem.log().size()).isZero();

        a.free(pfn, 0);
        assertThat(mem.readWord(d, 3, "gup_fast on cpu1")).isEqualTo(PageDesc.POISON);
        assertThat(mem.log().snapshot()).containsExactly(
                new Violation("use-after-free", "gup_fast on cpu1 read word 3 of freed table pfn 0x" + Long.toHexString(pfn)));
        mem.log().clear();

        mem.log().setStrict(true);
        assertThatThrownBy(() -> mem.readWord(d, 0, "stale walker")).isInstanceOf(ViolationException.class)
                .hasMessage("use-after-free: stale walker read word 0 of freed table pfn 0x" + Long.toHexString(pfn));
        mem.log().clear();
    }

    @Test
    void aTableAllocatedAgainIsNoLongerPoisoned() {
        BuddyAllocator a = checked.allocator(1);
        PhysicalMemory mem = a.memory();
        long pfn = a.allocate(0, Gfp.PGTABLE_KERNEL, "pte_alloc_one").pfnOrThrow();
        PageDesc d = mem.tableDesc(pfn, true);
        a.free(pfn, 0);

        long again = a.allocate(0, Gfp.PGTABLE_KERNEL, "pte_alloc_one").pfnOrThrow();
        assertThat(again).as("the free list is LIFO").isEqualTo(pfn);
        // Allocated as a data page the frame still reads as a freed table to a stale walker.
        assertThat(d.poisoned()).isTrue();
        PageDesc d2 = mem.tableDesc(again, true);
        assertThat(d2).isSameAs(d);
        assertThat(d2.poisoned()).isFalse();
        assertThat(d2.words()).containsOnly(0L);
        assertThat(mem.readWord(d2, 0, "walker")).isZero();
        assertThat(mem.log().size()).isZero();
        a.free(again, 0);
    }

    @Test
    void withoutZeroingATableKeepsWhatTheFrameLastHeld() {
        BuddyAllocator a = checked.allocator(1);
        PhysicalMemory mem = a.memory();
        long pfn = a.allocate(0, Gfp.KERNEL, "x").pfnOrThrow();
        mem.tableDesc(pfn, true);
        a.free(pfn, 0);
        pfn = a.allocate(0, Gfp.KERNEL, "x").pfnOrThrow();
        PageDesc d = mem.tableDesc(pfn, false);
        assertThat(d.poisoned()).isFalse();
        assertThat(Arrays.stream(d.words()).distinct().toArray()).containsExactly(PageDesc.POISON);
        a.free(pfn, 0);
    }

    @Test
    void freeingAHigherOrderBlockPoisonsEveryTableFrameInIt() {
        BuddyAllocator a = checked.allocator(1);
        PhysicalMemory mem = a.memory();
        long pfn = a.allocate(1, Gfp.PGTABLE_KERNEL, "pgd_alloc").pfnOrThrow();
        PageDesc head = mem.tableDesc(pfn, true);
        a.free(pfn, 1);
        assertThat(head.poisoned()).isTrue();
        assertThatThrownBy(() -> mem.tableDesc(pfn, true)).isInstanceOf(InvalidFrameException.class)
                .hasMessage("pfn 0x" + Long.toHexString(pfn) + " is not allocated");
        assertThatThrownBy(() -> mem.descAt(mem.paOf(pfn + 5))).isInstanceOf(InvalidFrameException.class)
                .hasMessageContaining("holds no table");
    }
}
