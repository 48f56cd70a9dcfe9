package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import ptlab.arch.Architectures;
import ptlab.check.Checker;
import ptlab.cpu.Violation;

/** Test support: C helpers built with {@code cc} at test time, and capture-analyze-check in one call. */
final class Helpers {
    private Helpers() {}

    /** Compiles {@code snapshot/NAME.c} from the test resources; skips the test if there is no {@code cc}. */
    static Path compile(Path dir, String name) throws IOException, InterruptedException {
        Path cc = null;
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, "cc"))) {
                cc = Path.of(d, "cc");
                break;
            }
        }
        Assumptions.assumeTrue(cc != null, "no C compiler (cc) on PATH");
        Path src = dir.resolve(name + ".c");
        try (InputStream in = Helpers.class.getResourceAsStream("/snapshot/" + name + ".c")) {
            Files.copy(in, src);
        }
        Path bin = dir.resolve(name);
        Process p = new ProcessBuilder(cc.toString(), "-O2", "-o", bin.toString(), src.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("cc " + name + ".c: " + out).isZero();
        return bin;
    }

    /** A running helper that printed "ready"; closing stdin ends it. */
    static final class Child implements AutoCloseable {
        final Process proc;

        Child(String... cmd) throws IOException {
            proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
            String line = r.readLine();
            assertThat(line).as("helper %s did not get ready", List.of(cmd)).isEqualTo("ready");
        }

        long pid() {
            return proc.pid();
        }

        @Override
        public void close() throws IOException {
            proc.getOutputStream().close();
            try {
                if (!proc.waitFor(10, TimeUnit.SECONDS)) {
                    proc.destroyForcibly();
                }
            } catch (InterruptedException e) {
                proc.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Captures {@code /proc/PID} into {@code dir}, rebuilds it on the default architecture, checks the machine. */
    static Analysis captureAndAnalyze(String pid, Path dir) {
        Capture.capture(Path.of("/proc", pid), dir);
        Analysis a = Analysis.of(Rebuild.run(Snapshot.load(dir), Architectures.defaultArch(), false));
        assertClean(a);
        return a;
    }

    /** The invariant checker on the rebuilt machine, and the walk agreeing with the mm's counter. */
    static void assertClean(Analysis a) {
        List<Violation> v = new ArrayList<>(Checker.check(a.rebuilt().kernel().pageTables()));
        assertThat(v).as("checker on the rebuilt machine").isEmpty();
        assertThat(a.walkedBytes()).as("walked tables vs pgtables_bytes").isEqualTo(a.pgtablesBytes());
    }

    static long smapsKb(Snapshot s, String key) {
        long kb = 0;
        for (SmapsEntry e : s.smaps()) {
            kb += e.kb(key);
        }
        return kb;
    }
}
