package ptlab.rcu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import ptlab.cpu.SimCpu;
import ptlab.cpu.ViolationLog;

/** Read sections nest; grace periods wait for real readers on other threads; callbacks run only after them. */
class RcuTest {
    @Test
    void sectionsNestAndBalance() {
        RcuReaders.readLock();
        RcuReaders.readLock();
        assertThat(SimCpu.current().rcuNesting()).isEqualTo(2);
        assertThat(SimCpu.current().inAtomic()).isTrue();
        RcuReaders.readUnlock();
        assertThat(RcuReaders.inReadSection()).isTrue();
        RcuReaders.readUnlock();
        assertThat(RcuReaders.inReadSection()).isFalse();
        assertThatThrownBy(RcuReaders::readUnlock).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void callbackWaitsForAReaderOnAnotherCpuAndBarrierRunsIt() throws Exception {
        Rcu rcu = new Rcu(new ViolationLog(false));
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch leave = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            new SimCpu(1).bindCurrentThread();
            RcuReaders.readLock();
            inside.countDown();
            try {
                leave.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            RcuReaders.readUnlock();
        });
        reader.start();
        inside.await();
        AtomicBoolean ran = new AtomicBoolean();
        rcu.callRcu(() -> ran.set(true));
        assertThat(rcu.poll()).isZero();
        assertThat(ran).isFalse();
        assertThat(rcu.pending()).isEqualTo(1);
        leave.countDown();
        rcu.barrier();
        assertThat(ran).isTrue();
        assertThat(rcu.gracePeriods()).isPositive();
        reader.join();
    }

    @Test
    void synchronizeRcuWaitsForTheReader() throws Exception {
        Rcu rcu = new Rcu(new ViolationLog(false));
        CountDownLatch inside = new CountDownLatch(1);
        AtomicBoolean left = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            new SimCpu(2).bindCurrentThread();
            RcuReaders.readLock();
            inside.countDown();
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            left.set(true);
            RcuReaders.readUnlock();
        });
        reader.start();
        inside.await();
        rcu.synchronizeRcu();
        assertThat(left).as("synchronize_rcu returned before the reader left").isTrue();
        reader.join();
    }

    @Test
    void withNoReaderACallbackRunsAtOnce() {
        Rcu rcu = new Rcu(new ViolationLog(false));
        AtomicBoolean ran = new AtomicBoolean();
        rcu.callRcu(() -> ran.set(true));
        rcu.barrier();
        assertThat(ran).isTrue();
    }

    @Test
    void synchronizeInsideAReadSectionIsAMightSleepViolation() {
        ViolationLog log = new ViolationLog(false);
        Rcu rcu = new Rcu(log);
        RcuReaders.readLock();
        try {
            assertThatThrownBy(rcu::synchronizeRcu).isInstanceOf(IllegalStateException.class);
        } finally {
            RcuReaders.readUnlock();
        }
        assertThat(log.snapshot()).anyMatch(v -> v.kind().equals("might-sleep"));
    }
}
