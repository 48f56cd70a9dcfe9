package ptlab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI contract: commands listed, version answered, bad input as one line on stderr and exit status 2. */
class MainTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(rc, out.toString(), err.toString());
    }

    private static void badInput(Run r, String message) {
        assertThat(r.status()).as("exit status for bad input").isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err().lines().count()).as("one line: %s", r.err()).isEqualTo(1);
        assertThat(r.err()).startsWith("ptlab: ").contains(message).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void helpListsTheCommandsAndVersionAnswers() {
        Run h = run("--help");
        assertThat(h.status()).isZero();
        assertThat(h.out()).contains("simulate", "replay", "arch");
        Run v = run("--version");
        assertThat(v.status()).isZero();
        assertThat(v.out()).startsWith("ptlab ");
    }

    @Test
    void unknownArchitectureIsOneLineAndStatus2() {
        badInput(run("arch", "--arch", "bogus"), "unknown architecture 'bogus'");
        badInput(run("replay", "--arch", "sparc64", "x.trace"), "unknown architecture 'sparc64'");
    }

    @Test
    void unknownOptionIsOneLineAndStatus2() {
        badInput(run("replay", "--frobnicate", "x.trace"), "--frobnicate");
    }

    @Test
    void replayBadFilesAndLines() throws Exception {
        badInput(run("replay", dir.resolve("missing.trace").toString()), "missing.trace: no such file");
        Path t = dir.resolve("bad.trace");
        Files.writeString(t, "mmap 0x100000000000 4M\nfrobnicate 1 2\n");
        badInput(run("replay", t.toString()), t + ":2: unknown operation 'frobnicate'");
        Files.writeString(t, "mmap 0x100000000000 4M\ntouch 0x100000000000\n");
        badInput(run("replay", t.toString()), t + ":2: touch: missing argument");
        Files.writeString(t, "mmap 0x1000zz 4M\n");
        badInput(run("replay", t.toString()), t + ":1: bad address '0x1000zz'");
        Files.writeString(t, "# comment\nmprotect 0x100000000800 4K r\n");
        badInput(run("replay", t.toString()), t + ":2: address 0x100000000800 is not aligned to a 4 KiB page");
        Files.writeString(t, "mmap 0x100000000000 4M\nmunmap 0x7fffffe00000 4M\n");
        Run r = run("replay", t.toString());
        badInput(r, t + ":2: range 0x7fffffe00000 + 0x400000 is outside the user address space");
        assertThat(r.out()).as("nothing replayed before a bad line").isEmpty();
    }

    @Test
    void replayPrintsTheDriversLines() throws Exception {
        Path t = dir.resolve("ok.trace");
        Files.writeString(t, "mmap 0x100000000000 8M\ntouch 0x100000000000 8M\nmunmap 0x100000000000 8M\nmunmap 0x100000000000 0\nfork\n");
        Run r = run("replay", t.toString());
        assertThat(r.status()).isZero();
        // Recorded with ktrace on this machine: 4 PTE tables, a PMD and a PUD table.
        assertThat(r.out().lines()).containsExactly("1 0", "2 24", "3 0", "4 0 err=22", "5 0 fork");
        assertThat(r.err()).isEmpty();
    }
}
