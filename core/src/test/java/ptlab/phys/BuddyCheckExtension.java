package ptlab.phys;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import ptlab.cpu.ViolationLog;

/**
 * Runs {@link BuddyInvariants} after every test on each allocator the test made through
 * {@link #allocator}, and fails the test on any violation the test left unexamined in their
 * logs. Tests that expect violations check and {@link ViolationLog#clear() clear} them.
 */
final class BuddyCheckExtension implements AfterEachCallback {
    private final List<BuddyAllocator> tracked = new ArrayList<>();

    /** A fresh, tracked allocator over {@code ramBytes} of RAM with pages of {@code 1 << pageShift}. */
    BuddyAllocator allocator(int pageShift, long ramBytes) {
        BuddyAllocator a = new BuddyAllocator(new PhysicalMemory(pageShift, ramBytes, new ViolationLog(false)));
        tracked.add(a);
        return a;
    }

    /** A tracked allocator with {@code blocks} max-order blocks of 4 KiB pages. */
    BuddyAllocator allocator(long blocks) {
        return allocator(12, blocks << (12 + BuddyAllocator.MAX_ORDER));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        try {
            for (BuddyAllocator a : tracked) {
                BuddyInvariants.check(a);
                if (a.memory().log().size() != 0) {
                    throw new AssertionError("unexpected violations: " + a.memory().log().snapshot());
                }
            }
        } finally {
            tracked.clear();
        }
    }
}
