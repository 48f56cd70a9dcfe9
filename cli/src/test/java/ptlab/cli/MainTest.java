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

    /** Writes {@code text} to {@code t} and replays it: bad input with {@code message}. */
    private static void badTrace(Path t, String text, String message) throws java.io.IOException {
        Files.writeString(t, text);
        badInput(run("replay", t.toString()), message);
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

    /** What one entry maps is a size with a unit, as dump prints it, not a byte count to count the digits of. */
    @Test
    void archPrintsWhatAnEntryMapsWithAUnit() {
        Run list = run("arch");
        assertThat(list.status()).isZero();
        assertThat(list.out()).contains("x86_64-4l      PGD[512x512G] PUD[512x1G,leaf] PMD[512x2M,leaf] PTE[512x4K,leaf]\n",
                "arm64-64k-42   PGD[8192x512M,leaf] PTE[8192x64K,leaf]\n", "LEVEL[entries x what one entry maps]");
        Run one = run("arch", "--arch", "x86_64-5l");
        assertThat(one.out()).contains("  PGD  512 entries, each maps 256T\n", "  PMD  512 entries, each maps 2M, leaf\n");
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
        badTrace(t, "mmap 0x100000000000 4M\nfrobnicate 1 2\n", t + ":2: unknown operation 'frobnicate'");
        badTrace(t, "mmap 0x100000000000 4M\ntouch 0x100000000000\n", t + ":2: touch: missing argument");
        badTrace(t, "mmap 0x1000zz 4M\n", t + ":1: bad address '0x1000zz'");
        badTrace(t, "# comment\nmprotect 0x100000000800 4K r\n", t + ":2: address 0x100000000800 is not aligned to a 4 KiB page");
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

    /** Files that are not trace text: one line with file and line, never a stack trace. */
    @Test
    void replayOfWhatIsNotATraceFile() throws Exception {
        badInput(run("replay", dir.toString()), dir + ": is a directory, not a file");
        badInput(run("replay", ""), "empty file name");
        Path t = dir.resolve("latin1.trace");
        Files.write(t, "mmap 0x100000000000 4M\ntouch 0x10000000\u00e90000 4M\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        badInput(run("replay", t.toString()), t + ":2: bytes that are not UTF-8 text at column 17");
        Files.write(t, "\uFEFFmmap 0x100000000000 4M\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        badInput(run("replay", t.toString()), t + ":1: a byte-order mark (U+FEFF) at column 1");
        // A byte that is not UTF-8 in a comment is ignored, as the kernel driver ignores all after '#'.
        Files.write(t, "mmap 0x100000000000 4M # caf\u00e9\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        Run r = run("replay", t.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out().lines()).containsExactly("1 0");
    }

    /**
     * Words the kernel driver reads differently from what they seem: it reads numbers with
     * strtoul base 0 ({@code 010} is octal 8) and compares advice with strcmp (upper case is
     * advice -1, err=22). ptlab refuses both rather than print other lines than the driver.
     */
    @Test
    void replayRefusesWordsTheDriverReadsOtherwise() throws Exception {
        Path t = dir.resolve("w.trace");
        badTrace(t, "mmap 0x100000000000 16M\ntouch 0x100000000000 010M\n", t + ":2: bad length '010M': a leading 0 makes it octal");
        badTrace(t, "mmap 0x100000000000 4M\nmadvise 0x100000000000 2M DONTNEED\n", t + ":2: unknown madvise advice 'DONTNEED'");
        badTrace(t, "mmap 0x100000000000 0x+400000\n", t + ":1: bad length '0x+400000'");
        Files.writeString(t, "mmap 0x100000000000 0\nmmap 0x100000000000 0x0\n");
        Run r = run("replay", t.toString());
        assertThat(r.out().lines()).as("a lone 0 is not octal").containsExactly("1 0 err=22", "2 0 err=22");
    }

    /** A fork the simulated RAM cannot hold is fork's ENOMEM, and the replay goes on with its state intact. */
    @Test
    void replayForkOutOfMemoryIsAnErrnoAndTheReplayGoesOn() throws Exception {
        Path t = dir.resolve("oom.trace");
        Files.writeString(t, "mmap 0x100000000000 1G\ntouch 0x100000000000 1G\nfork\nmunmap 0x100000000000 1G\nfork\n");
        Run r = run("replay", "--ram", "1G", t.toString());
        assertThat(r.status()).isZero();
        assertThat(r.out().lines()).containsExactly("1 0", "2 2052 err=12", "3 0 fork err=12", "4 0", "5 0 fork");
    }

    @Test
    void outputFilesAreCheckedBeforeTheRun() {
        Path missing = dir.resolve("no-such-dir").resolve("x.html");
        Run r = run("simulate", "--quiet", "--arch", "x86_64-4l", "--report", missing.toString());
        badInput(r, "--report " + missing + ": no such directory");
        assertThat(r.out()).as("nothing ran").isEmpty();
        badInput(run("simulate", "--quiet", "--report", dir.toString()), "--report " + dir + ": is a directory");
        badInput(run("simulate", "--quiet", "--jfr", missing.toString()), "--jfr " + missing + ": no such directory");
        badInput(run("snapshot", "analyze", dir.toString(), "--html", dir.toString()), "--html " + dir + ": is a directory");
    }

    @Test
    void ramThatTheMachineCannotHaveIsRefusedUpFront() {
        badInput(run("check", "--ram", "64T"), "--ram 64T: must be between 256M and 1T");
        badInput(run("dump", "--ram", "64T"), "--ram 64T: must be between 4M and 16T");
        badInput(run("simulate", "--quiet", "--arch", "arm64-16k-36", "--ram", "64G"),
                "--ram 64G: more than the linear map of arm64-16k-36 holds (at most 32G)");
        badInput(run("check", "--arch", "arm64-64k-42", "--ram", "260M"), "--ram 260M: not a multiple of 64M, the largest buddy block of arm64-64k-42");
        badInput(run("dump", "--level", "p4d"), "--level p4d: p4d is folded on x86_64-4l");
        // dump's default RAM fits every architecture's linear map.
        for (String arch : new String[] {"arm64-16k-36", "x86_64-4l"}) {
            Run r = run("dump", "--arch", arch);
            assertThat(r.status()).as(arch + ": " + r.err()).isZero();
        }
    }

    @Test
    void everyCommandAnswersVersionAndUnknownCommandsAreNamed() {
        for (String[] cmd : new String[][] {{"replay", "-V"}, {"simulate", "-V"}, {"snapshot", "capture", "-V"}, {"dump", "--version"}}) {
            Run r = run(cmd);
            assertThat(r.status()).isZero();
            assertThat(r.out()).as(String.join(" ", cmd)).startsWith("ptlab ");
        }
        badInput(run("nosuch"), "unknown command 'nosuch' (help, simulate, replay, arch, dump, snapshot, check)");
        badInput(run("snapshot", "bogus"), "unknown command 'snapshot bogus' (help, capture, analyze)");
        Run help = run("snapshot", "help", "capture");
        assertThat(help.status()).isZero();
        assertThat(help.out()).startsWith("Usage: ptlab snapshot capture");
    }

    /**
     * {@code help} takes a path of command names, as many levels deep as the tree goes: {@code ptlab help
     * snapshot capture} is capture's help (it printed snapshot's and ignored 'capture'), and a name that is
     * not a command at its level is one line naming it, exit status 2 (it printed the level above's help).
     */
    @Test
    void helpWalksEveryLevelOfSubcommands() {
        for (String[] cmd : new String[][] {{"help", "snapshot", "capture"}, {"snapshot", "help", "capture"}}) {
            Run r = run(cmd);
            assertThat(r.status()).as(String.join(" ", cmd)).isZero();
            assertThat(r.out()).as(String.join(" ", cmd)).startsWith("Usage: ptlab snapshot capture");
            assertThat(r.err()).isEmpty();
        }
        Run top = run("help", "snapshot");
        assertThat(top.status()).isZero();
        assertThat(top.out()).startsWith("Usage: ptlab snapshot ");
        assertThat(run("help").out()).startsWith("Usage: ptlab ");
        badInput(run("help", "nosuch"), "unknown command 'nosuch' (help, simulate, replay, arch, dump, snapshot, check)");
        badInput(run("help", "snapshot", "bogus"), "unknown command 'snapshot bogus' (help, capture, analyze)");
        badInput(run("snapshot", "help", "bogus"), "unknown command 'snapshot bogus' (help, capture, analyze)");
        badInput(run("help", "snapshot", "capture", "extra"), "unknown command 'snapshot capture extra' ('snapshot capture' has no subcommands)");
        badInput(run("help", "replay", "x"), "unknown command 'replay x' ('replay' has no subcommands)");
    }
}
