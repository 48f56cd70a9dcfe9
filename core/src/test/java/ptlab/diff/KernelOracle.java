package ptlab.diff;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The live Linux kernel as a test oracle: runs a trace through {@code kdriver.c} (a copy of
 * {@code shared/tools/ktrace.c}) and returns the lines it prints, one per step.
 *
 * <p>The driver is compiled once per JVM with the system C compiler ({@code cc} on {@code PATH})
 * into a temporary directory. Tests call {@link #assumeAvailable()} first: without Linux, a C
 * compiler or a kernel configured like {@code KernelConfig.defaults()} they are skipped, not failed.
 */
final class KernelOracle {
    /** Upper bound for one trace; a healthy trace of 60 steps takes well under a second. */
    static final long TIMEOUT_SECONDS = 60;

    private static final Path THP_ENABLED = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    private KernelOracle() {}

    /** Skips the calling test (JUnit assumption) unless the kernel side can run here. */
    static void assumeAvailable() {
        Optional<String> reason = Driver.UNAVAILABLE;
        assumeTrue(reason.isEmpty(), () -> "differential tests skipped: " + reason.orElse(""));
    }

    /** Runs {@code trace} (trace-language text) on the live kernel; returns the driver's output lines. */
    static List<String> run(String trace) {
        Path binary = Driver.binary();
        Path file = null;
        Path out = null;
        Path err = null;
        try {
            file = Files.createTempFile(Driver.DIR, "trace", ".trace");
            out = Files.createTempFile(Driver.DIR, "trace", ".out");
            err = Files.createTempFile(Driver.DIR, "trace", ".err");
            Files.writeString(file, trace, StandardCharsets.UTF_8);
            // Output goes to files, not pipes: nothing to drain while waiting with a timeout.
            Process p = new ProcessBuilder(binary.toString(), file.toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            awaitExit(p);
            if (p.exitValue() != 0) {
                throw new IllegalStateException("kdriver exited with " + p.exitValue() + ": "
                        + Files.readString(err, StandardCharsets.UTF_8).strip() + "\ntrace:\n" + trace);
            }
            return Files.readAllLines(out, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(file);
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static void awaitExit(Process p) {
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("kdriver timed out after " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for kdriver", e);
        }
    }

    private static void deleteQuietly(Path f) {
        if (f == null) {
            return;
        }
        try {
            Files.deleteIfExists(f);
        } catch (IOException ignored) {
            // a stale file in our own temp directory is harmless; the directory is removed at exit
        }
    }

    /** Lazily compiled driver binary, one per JVM (initialization-on-demand holder). */
    private static final class Driver {
        static final Path DIR;
        static final Path BINARY;
        static final Optional<String> UNAVAILABLE;

        static {
            Path dir = null;
            Path binary = null;
            String reason = platformProblem();
            if (reason == null) {
                try {
                    dir = Files.createTempDirectory("ptlab-kdriver");
                    deleteAtExit(dir);
                    binary = compile(dir);
                } catch (IOException | IllegalStateException e) {
                    reason = "cannot build kdriver.c: " + e.getMessage();
                }
            }
            DIR = dir;
            BINARY = binary;
            UNAVAILABLE = Optional.ofNullable(reason);
        }

        static Path binary() {
            if (UNAVAILABLE.isPresent()) {
                throw new IllegalStateException("kernel oracle unavailable: " + UNAVAILABLE.get());
            }
            return BINARY;
        }

        /** Why the live kernel cannot serve as the oracle for {@code KernelConfig.defaults()}, or null. */
        private static String platformProblem() {
            String os = System.getProperty("os.name", "");
            if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
                return "not Linux (os.name=" + os + ")";
            }
            if (findOnPath("cc").isEmpty()) {
                return "no C compiler (cc) on PATH";
            }
            String arch = System.getProperty("os.arch", "");
            if (!arch.equals("amd64") && !arch.equals("x86_64")) {
                return "kernel is not x86-64 (os.arch=" + arch + "), KernelConfig.defaults() models x86-64";
            }
            try {
                String thp = Files.readString(THP_ENABLED).strip();
                if (!thp.contains("[madvise]")) {
                    return "THP mode is not madvise (" + THP_ENABLED + ": " + thp + "), KernelConfig.defaults() models madvise";
                }
            } catch (IOException e) {
                return "cannot read " + THP_ENABLED + " (" + e.getMessage() + ")";
            }
            int overcommit = ptlab.pgtable.HostMachine.overcommitMode();
            if (overcommit != 0) {
                return "vm.overcommit_memory is " + overcommit + ", ptlab models 0 (the guess)";
            }
            return null;
        }

        private static Path compile(Path dir) throws IOException {
            Path source = dir.resolve("kdriver.c");
            try (InputStream in = KernelOracle.class.getResourceAsStream("kdriver.c")) {
                if (in == null) {
                    throw new IllegalStateException("resource ptlab/diff/kdriver.c missing");
                }
                Files.copy(in, source);
            }
            Path binary = dir.resolve("kdriver");
            Process cc = new ProcessBuilder("cc", "-O2", "-o", binary.toString(), source.toString())
                    .redirectErrorStream(true)
                    .start();
            String log = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            try {
                if (!cc.waitFor(120, TimeUnit.SECONDS)) {
                    cc.destroyForcibly();
                    throw new IllegalStateException("cc timed out");
                }
            } catch (InterruptedException e) {
                cc.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while compiling", e);
            }
            if (cc.exitValue() != 0) {
                throw new IllegalStateException("cc failed: " + log.strip());
            }
            return binary;
        }

        private static Optional<Path> findOnPath(String name) {
            String path = System.getenv("PATH");
            if (path == null) {
                return Optional.empty();
            }
            for (String d : path.split(File.pathSeparator)) {
                if (d.isEmpty()) {
                    continue;
                }
                Path candidate = Path.of(d, name);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return Optional.of(candidate);
                }
            }
            return Optional.empty();
        }

        private static void deleteAtExit(Path dir) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (Stream<Path> files = Files.walk(dir)) {
                    List<Path> all = new ArrayList<>();
                    files.sorted(Comparator.reverseOrder()).forEach(all::add);
                    for (Path f : all) {
                        Files.deleteIfExists(f);
                    }
                } catch (IOException ignored) {
                    // best effort: the directory lives under java.io.tmpdir
                }
            }, "ptlab-kdriver-cleanup"));
        }
    }
}
