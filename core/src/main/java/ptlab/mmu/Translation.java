package ptlab.mmu;

import ptlab.arch.Level;

/**
 * The typed outcome of one translation. The hot-loop form is {@link CpuMmu#translatePa}, a
 * {@code long} that is the physical address or a negative fault word; {@link CpuMmu#translate}
 * returns the same outcome as this type.
 */
public sealed interface Translation permits Translation.Mapped, Translation.Fault {

    /**
     * The access is allowed.
     *
     * @param pa       physical address of the accessed byte
     * @param pageSize bytes mapped by the leaf (4K page, 2M/1G block, ...)
     * @param level    run-time level of the leaf
     */
    record Mapped(long pa, long pageSize, Level level) implements Translation {}

    /**
     * The access faults.
     *
     * @param level  level of the entry that decided the fault (the leaf for permission faults)
     * @param reason why
     */
    record Fault(Level level, FaultReason reason) implements Translation {}

    /** Bit 63 marks a fault word; PAs are below 2^56 on every format. */
    long FAULT_BIT = Long.MIN_VALUE;

    static long faultWord(Level level, FaultReason reason) {
        return FAULT_BIT | ((long) reason.ordinal() << 8) | level.ordinal();
    }

    static boolean isFault(long raw) {
        return raw < 0;
    }

    static Fault faultOf(long raw) {
        return new Fault(Level.ofDepth((int) (raw & 0xff)), FaultReason.values()[(int) ((raw >>> 8) & 0xff)]);
    }
}
