package ptlab.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link Mutex} and {@link RwSemaphore}: might-sleep in atomic context, order, mmap assertions. */
class SleepingLockTest {
    private final ViolationLog log = new ViolationLog(false);
    private final Mutex split = new Mutex("pgtable_split_lock", LockClass.SPLIT_MUTEX, log);
    private final RwSemaphore mmap = new RwSemaphore("mmap_lock", log);
    private final SpinLock ptl = new SpinLock("ptl", LockClass.PTE_PTL);

    @Test
    void mutexLockInAtomicContextIsAMightSleepViolation() {
        new SimCpu(0).runAs(() -> {
            split.lock();
            split.unlock();
            assertThat(log.size()).isZero();
            SimCpu.current().rcuEnter();
            split.lock();
            split.unlock();
            SimCpu.current().rcuExit();
            assertThat(log.snapshot()).containsExactly(new Violation("might-sleep",
                    "mutex_lock(pgtable_split_lock) in atomic context on cpu0: rcu_read_lock depth 1"));
        });
    }

    @Test
    void mutexUnderASpinlockBreaksTheOrderBeforeItCanSleep() {
        new SimCpu(0).runAs(() -> {
            ptl.lock();
            assertThatThrownBy(split::lock).isInstanceOf(LockProtocolError.class)
                    .hasMessageStartingWith("taking pgtable_split_lock (SPLIT_MUTEX/0) while holding ptl (PTE_PTL/0)");
            ptl.unlock();
        });
    }

    @Test
    void inStrictModeTheMutexIsNotTakenWhenTheCheckThrows() {
        log.setStrict(true);
        assertThat(log.strict()).isTrue();
        new SimCpu(0).runAs(() -> {
            SimCpu.current().preemptDisable();
            assertThatThrownBy(split::lock).isInstanceOf(ViolationException.class)
                    .hasMessage("might-sleep: mutex_lock(pgtable_split_lock) in atomic context on cpu0: preempt_count=1");
            SimCpu.current().preemptEnable();
            assertThat(split.heldByCurrentCpu()).isFalse();
            split.lock();
            split.unlock();
        });
    }

    @Test
    void mutexRefusesRecursionAndReleaseWhenNotHeld() {
        new SimCpu(0).runAs(() -> {
            assertThatThrownBy(split::unlock).isInstanceOf(LockProtocolError.class);
            split.lock();
            assertThatThrownBy(split::lock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("recursive acquisition of pgtable_split_lock on cpu0");
            split.unlock();
        });
    }

    @Test
    void rwsemReadersShareAndAssertLocked() throws Exception {
        new SimCpu(0).runAs(() -> {
            assertThatThrownBy(mmap::assertLocked).isInstanceOf(LockProtocolError.class)
                    .hasMessage("mmap_lock is not held by cpu0");
            mmap.readLock();
            mmap.assertLocked();
            assertThatThrownBy(mmap::assertWriteLocked).isInstanceOf(LockProtocolError.class)
                    .hasMessage("mmap_lock is not write-locked by cpu0");
            assertThat(mmap.isWriteLockedByCurrentThread()).isFalse();
            // A second reader on another CPU gets in while this one holds it.
            Boolean otherRead = CompletableFuture.supplyAsync(() -> {
                boolean[] ok = new boolean[1];
                new SimCpu(1).runAs(() -> {
                    mmap.readLock();
                    mmap.assertLocked();
                    mmap.readUnlock();
                    ok[0] = true;
                });
                return ok[0];
            }).orTimeout(10, TimeUnit.SECONDS).join();
            assertThat(otherRead).isTrue();
            mmap.readUnlock();
            assertThatThrownBy(mmap::readUnlock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("up_read(mmap_lock) without a read hold on cpu0");
        });
    }

    @Test
    void rwsemWriterExcludesReadersUntilItDowngrades() throws Exception {
        CountDownLatch readerIn = new CountDownLatch(1);
        new SimCpu(0).runAs(() -> {
            mmap.writeLock();
            mmap.assertLocked();
            mmap.assertWriteLocked();
            assertThat(mmap.isWriteLockedByCurrentThread()).isTrue();
            Thread reader = new Thread(() -> new SimCpu(1).runAs(() -> {
                mmap.readLock();
                readerIn.countDown();
                mmap.readUnlock();
            }));
            reader.start();
            try {
                assertThat(readerIn.await(200, TimeUnit.MILLISECONDS)).as("reader blocked by the writer").isFalse();
                mmap.downgrade();
                assertThat(readerIn.await(10, TimeUnit.SECONDS)).as("reader admitted after the downgrade").isTrue();
                assertThatThrownBy(mmap::assertWriteLocked).isInstanceOf(LockProtocolError.class);
                mmap.assertLocked();
                assertThatThrownBy(mmap::downgrade).isInstanceOf(LockProtocolError.class);
                assertThatThrownBy(mmap::writeUnlock).isInstanceOf(LockProtocolError.class);
                mmap.readUnlock();
                reader.join(10_000);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            assertThat(SimCpu.current().locksHeld()).isZero();
        });
    }

    @Test
    void rwsemInAtomicContextIsAMightSleepViolationAndRecursionIsRefused() {
        new SimCpu(5).runAs(() -> {
            SimCpu.current().setInStopMachine(true);
            mmap.writeLock();
            SimCpu.current().setInStopMachine(false);
            assertThat(log.snapshot()).containsExactly(new Violation("might-sleep",
                    "down(mmap_lock) in atomic context on cpu5: inside stop_machine"));
            assertThatThrownBy(mmap::readLock).isInstanceOf(LockProtocolError.class)
                    .hasMessage("recursive acquisition of mmap_lock on cpu5");
            mmap.writeUnlock();
            new SimCpu(6).runAs(() -> {
                mmap.readLock();
                new SimCpu(7).runAs(() -> assertThatThrownBy(mmap::writeLock).isInstanceOf(LockProtocolError.class)
                        .hasMessageEndingWith("(self-deadlock)"));
                mmap.readUnlock();
            });
        });
    }
}
