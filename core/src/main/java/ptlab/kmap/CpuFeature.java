package ptlab.kmap;

/** Per-CPU features kernel mappings depend on ({@code arm64_cpu_capabilities}). */
public enum CpuFeature {
    /**
     * FEAT_BBM level 2 without TLB-conflict aborts: the CPU tolerates a block being replaced by
     * a table (or a contiguous run being changed) that maps the same output addresses with the
     * same attributes, without break-before-make ({@code system_supports_bbml2_noabort}).
     */
    BBML2_NOABORT
}
