/**
 * The software MMU: per-CPU TLBs, the hardware page-table walk with accessed/dirty updates and
 * permission faults, TLB flush and cross-CPU shootdown, {@code mmu_gather}, and the stale-TLB
 * audit.
 *
 * <h2>Vocabulary</h2>
 * <ul>
 *   <li><b>va / pa</b>: virtual / physical address; <b>vpn</b>: va shifted by a page or block shift.</li>
 *   <li><b>rights</b>: the six bits of {@link ptlab.mmu.Rights} (user/kernel × read/write/execute)
 *       a translation grants; an access needs one.</li>
 *   <li><b>walk</b>: {@link ptlab.mmu.HardwareWalker}, the one loop over the run-time levels;
 *       the bits are read through {@link ptlab.arch.PteFormat} and a family's
 *       {@link ptlab.mmu.HardwareRules} (x86, arm64, RISC-V). It is the definition; the one
 *       specialisation is {@link ptlab.mmu.X86Walker}, a read-only fast path for the common x86
 *       TLB miss that leaves every other case to it and is tested equal to it on random tables
 *       ({@code X86WalkerDifferentialTest}).</li>
 *   <li><b>ASID</b>: the tag of an mm's TLB entries (x86 PCID, arm64 ASID, RISC-V ASID);
 *       <b>global</b> entries match every ASID. 12 bits (1 to 4093); once they run out, a new
 *       mm takes a dead mm's ASID after a flush of it on every CPU, and with none dead the
 *       space rolls over as arm64's does: the mms CPUs run keep theirs, the others get new
 *       ones at their next switch, every TLB is flushed ({@code Mmu}'s notes).</li>
 *   <li><b>shootdown</b>: a flush posted to other CPUs and waited for ({@code flush_tlb_mm_range},
 *       {@code smp_call_function_many}).</li>
 *   <li><b>gather</b>: {@link ptlab.mmu.TlbGather}, unhook → invalidate → free.</li>
 * </ul>
 *
 * <h2>Protocols</h2>
 * <ul>
 *   <li>A CPU is a thread holding a {@link ptlab.mmu.CpuMmu} (from {@link ptlab.mmu.Mmu#attach});
 *       only that thread translates, switches mm and touches its TLB. Online CPUs acknowledge
 *       shootdowns between translations; an online CPU that stops translating must
 *       {@code poll()} or {@code leave()}, and a translation after {@code leave()} brings it
 *       back online. Kernel code that may block takes the calling CPU offline first
 *       ({@link ptlab.mmu.Mmu#leaveCallingCpu}; {@code Process}'s calls do): a flusher holding
 *       the lock it waits for would otherwise wait for its ack forever. An exiting mm's PGD is freed only after every CPU online in it acked
 *       a last flush (the lazy-TLB shootdown). The protocol is in {@code CpuMmu}'s notes.</li>
 *   <li>Entries are loaded with acquire ordering; A/D updates are compare-and-set against the
 *       word that was checked, and a lost CAS restarts the walk.</li>
 *   <li>Every operation that changes a live translation flushes (directly or through a gather)
 *       before it returns; {@link ptlab.mmu.Mmu#audit} reports any cached entry that disagrees
 *       with the tables afterwards ("stale-tlb").</li>
 * </ul>
 *
 * <p>Layering: imports arch, cpu, phys, pgtable; the mm layer above calls it
 * ({@code Kernel.flushTlbRange}). Nothing here imports mm or check.
 */
package ptlab.mmu;
