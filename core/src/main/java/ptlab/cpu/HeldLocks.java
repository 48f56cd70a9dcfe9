package ptlab.cpu;

/**
 * The stack of locks one CPU holds, checked on every acquisition against {@link LockClass}
 * order: the lockdep idea, reduced to ranks and subclasses.
 */
final class HeldLocks {
    private KernelLock[] stack = new KernelLock[8];
    private int[] subclass = new int[8];
    private int depth;

    int depth() {
        return depth;
    }

    /** Returns a description of the conflict, or {@code null} if taking {@code l} keeps the order. */
    String checkOrder(KernelLock l, int sub) {
        for (int i = 0; i < depth; i++) {
            KernelLock h = stack[i];
            if (h == l) {
                return "recursive acquisition of " + l.name();
            }
            int hr = h.lockClass().rank();
            int nr = l.lockClass().rank();
            if (hr > nr || (hr == nr && subclass[i] >= sub)) {
                return "taking " + l.name() + " (" + l.lockClass() + "/" + sub + ") while holding " + h.name() + " ("
                        + h.lockClass() + "/" + subclass[i] + ")";
            }
        }
        return null;
    }

    void push(KernelLock l, int sub) {
        if (depth == stack.length) {
            stack = java.util.Arrays.copyOf(stack, depth * 2);
            subclass = java.util.Arrays.copyOf(subclass, depth * 2);
        }
        stack[depth] = l;
        subclass[depth] = sub;
        depth++;
    }

    void remove(KernelLock l) {
        for (int i = depth - 1; i >= 0; i--) {
            if (stack[i] == l) {
                System.arraycopy(stack, i + 1, stack, i, depth - i - 1);
                System.arraycopy(subclass, i + 1, subclass, i, depth - i - 1);
                depth--;
                stack[depth] = null;
                return;
            }
        }
        throw new LockProtocolError("releasing " + l.name() + " which this cpu does not hold");
    }

    boolean holds(KernelLock l) {
        for (int i = 0; i < depth; i++) {
            if (stack[i] == l) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < depth; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(stack[i].name());
        }
        return b.append(']').toString();
    }
}
