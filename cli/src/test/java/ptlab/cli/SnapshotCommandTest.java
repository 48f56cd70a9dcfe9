package ptlab.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ptlab snapshot capture|analyze} end to end, and bad captures: one line naming the file, exit 2. */
class SnapshotCommandTest {
    @TempDir
    Path tmp;
    Path cap;

    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(rc, out.toString(), err.toString());
    }

    @BeforeEach
    void capture() {
        Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/pagemap")), "no /proc/self/pagemap");
        cap = tmp.resolve("cap");
        Run r = run("snapshot", "capture", "self", cap.toString());
        assertThat(r.rc()).as(r.err()).isZero();
    }

    @Test
    void analyzeEndsWithTheContractLineAndWritesHtml() throws Exception {
        Path html = tmp.resolve("r.html");
        assertThat(cap.resolve("pagemap.index")).as("capture writes where the occupied entries are").isRegularFile();
        Run r = run("snapshot", "analyze", cap.toString(), "--thp", "always", "--arch", "arm64-16k-47", "--html", html.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        String last = r.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertThat(last).matches("pgtables_kB=\\d+ VmPTE_kB=\\d+");
        assertThat(r.out()).contains("tables per level:", "occupancy", "VMAs that cost the most tables", "what-if", "--thp always",
                "arm64-16k-47");
        String page = Files.readString(html, StandardCharsets.UTF_8);
        assertThat(page).contains("<svg").doesNotContain("<script").doesNotContain("src=").doesNotContain("href=");
    }

    private void assertBad(String fileName, String... expect) {
        Run r = run("snapshot", "analyze", cap.toString());
        assertThat(r.rc()).as(r.out() + r.err()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").startsWith("ptlab: " + cap.resolve(fileName)).contains(expect);
        assertThat(r.out()).isEmpty();
    }

    @Test
    void missingFile() throws Exception {
        Files.delete(cap.resolve("smaps"));
        assertBad("smaps", "missing");
    }

    @Test
    void truncatedMaps() throws Exception {
        byte[] b = Files.readAllBytes(cap.resolve("maps"));
        Files.write(cap.resolve("maps"), java.util.Arrays.copyOf(b, b.length - 5));
        assertBad("maps", "truncated");
    }

    @Test
    void pagemapShorterThanMapsImply() throws Exception {
        try (FileChannel ch = FileChannel.open(cap.resolve("pagemap"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 8);
        }
        assertBad("pagemap", "shorter than the maps imply");
    }

    @Test
    void malformedLine() throws Exception {
        String maps = Files.readString(cap.resolve("maps"), StandardCharsets.ISO_8859_1);
        Files.writeString(cap.resolve("maps"), maps.replaceFirst(" r", " q"), StandardCharsets.ISO_8859_1);
        assertBad("maps:1", "malformed permissions");
    }

    @Test
    void missingDirectoryAndBadOptions() {
        Run r = run("snapshot", "analyze", tmp.resolve("nope").toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).startsWith("ptlab: " + tmp.resolve("nope")).contains("no such directory");
        r = run("snapshot", "analyze", cap.toString(), "--thp", "sometimes");
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n");
        r = run("snapshot", "capture", "not-a-pid", tmp.resolve("x").toString());
        assertThat(r.rc()).isEqualTo(2);
    }

    /** A second capture into the first one's directory is refused in one line, and the first is left intact. */
    @Test
    void captureIntoAnOlderCaptureIsRefused() throws Exception {
        byte[] maps = Files.readAllBytes(cap.resolve("maps"));
        Run r = run("snapshot", "capture", "self", cap.toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("ptlab: " + cap + ": not empty (capture into a new or empty directory)\n");
        assertThat(r.out()).isEmpty();
        assertThat(Files.readAllBytes(cap.resolve("maps"))).isEqualTo(maps);
    }

    /** A kernel thread (kthreadd, pid 2) has no user mappings: one line saying so, and no directory left behind. */
    @Test
    void captureOfAKernelThreadSaysWhyAndLeavesNothing() throws Exception {
        Path maps = Path.of("/proc/2/maps");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(maps) && Files.readAllBytes(maps).length == 0, "no kthreadd here");
        Path dir = tmp.resolve("k2");
        Run r = run("snapshot", "capture", "2", dir.toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("ptlab: /proc/2: no user mappings to capture (a kernel thread, or a process that is exiting)\n");
        assertThat(dir).doesNotExist();
        Run empty = run("snapshot", "capture", "self", "");
        assertThat(empty.rc()).isEqualTo(2);
        assertThat(empty.err()).isEqualTo("ptlab: empty directory name\n");
    }
}
