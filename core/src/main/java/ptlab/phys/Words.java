package ptlab.phys;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Mode-named accessors for table words (the {@code long[]} backing of a table frame). Every
 * access to a word that another CPU, a lockless walker or the MMU may touch names its memory
 * ordering here; {@code Plain} accessors are only for a table nobody else can reach yet.
 *
 * <ul>
 *   <li>{@link #getAcquire}: {@code READ_ONCE} plus dependent-load ordering, so a walker that
 *       sees a table pointer also sees the table's zeroed and constructed contents.</li>
 *   <li>{@link #setRelease}: {@code smp_wmb(); WRITE_ONCE}: publishes a table or an entry
 *       whose target was initialised before.</li>
 *   <li>{@link #compareAndExchange}: hardware A/D updates and lockless PTE updates.</li>
 *   <li>{@link #getAndSet}: {@code ptep_get_and_clear}.</li>
 * </ul>
 */
public final class Words {
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);

    private Words() {}

    public static long getAcquire(long[] table, int index) {
        return (long) WORD.getAcquire(table, index);
    }

    public static long getOpaque(long[] table, int index) {
        return (long) WORD.getOpaque(table, index);
    }

    public static void setRelease(long[] table, int index, long value) {
        WORD.setRelease(table, index, value);
    }

    public static void setOpaque(long[] table, int index, long value) {
        WORD.setOpaque(table, index, value);
    }

    public static long compareAndExchange(long[] table, int index, long expected, long value) {
        return (long) WORD.compareAndExchange(table, index, expected, value);
    }

    public static long getAndSet(long[] table, int index, long value) {
        return (long) WORD.getAndSet(table, index, value);
    }

    /** Only for a table that no other thread can reach (being built, or already unreachable). */
    public static long getPlain(long[] table, int index) {
        return table[index];
    }

    /** Only for a table that no other thread can reach (being built, or already unreachable). */
    public static void setPlain(long[] table, int index, long value) {
        table[index] = value;
    }
}
