package ptlab.sim;

import ptlab.trace.TraceOp;

/**
 * One line of a simulate scenario: a kernel-side step, a process step, or a line of the trace
 * language applied to the current process. {@code line} is the 1-based source line.
 */
public sealed interface Step permits Step.Boot, Step.SplitLinear, Step.HotAdd, Step.Walkers, Step.NewProcess, Step.Use,
        Step.Exit, Step.Fork, Step.Trace, Step.Parallel, Step.Check {

    int line();

    /** {@code boot}: init_mm's linear map, vmalloc area and vmemmap for the machine's RAM. */
    record Boot(int line) implements Step {}

    /**
     * {@code split-linear}: split the whole linear map to PTEs under stop_machine from a
     * preallocated pool ({@code len == 0}); {@code split-linear OFFSET LEN}: split_kernel_leaf_mapping
     * of the linear map of RAM {@code [OFFSET, OFFSET+LEN)} (set_memory_* style).
     */
    record SplitLinear(int line, long offset, long len) implements Step {}

    /**
     * {@code hotadd SIZE [far]}: arch_add_memory of {@code SIZE} bytes right after the RAM, or
     * ({@code far}) at the start of the next top-level entry of the linear map, so the populate
     * reaches a new PGD entry that x86 must sync into every user PGD.
     */
    record HotAdd(int line, long size, boolean far) implements Step {}

    /** {@code walkers N}: from now on N extra CPUs walk page tables locklessly ({@code pte_offset_map}); 0 stops them. */
    record Walkers(int line, int count) implements Step {}

    /** {@code process NAME}: a new process, which becomes the current one. */
    record NewProcess(int line, String name) implements Step {}

    /** {@code use NAME}: make a process current. */
    record Use(int line, String name) implements Step {}

    /** {@code exit [NAME]}: the process (default: the current one) exits. */
    record Exit(int line, String name) implements Step {}

    /** {@code fork NAME}: the current process forks a child that lives on under {@code NAME}. */
    record Fork(int line, String child) implements Step {}

    /** A trace-language line on the current process ({@code fork} there forks a child that exits at once). */
    record Trace(int line, TraceOp op) implements Step {}

    /** {@code parallel N OP}: N CPUs run the trace operation at once on the current process. */
    record Parallel(int line, int cpus, TraceOp op) implements Step {}

    /** {@code check}: run the invariant checker now. */
    record Check(int line) implements Step {}
}
