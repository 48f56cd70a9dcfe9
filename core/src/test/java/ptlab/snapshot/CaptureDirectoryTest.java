package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ptlab.PtlabException;

/**
 * Where a capture may go: a new or empty directory. Writing into an older capture would mix two
 * processes' files (and a capture that fails half-way would leave the mix), so a directory with
 * anything in it is refused before /proc is read; a failed capture leaves the directory as it was.
 */
class CaptureDirectoryTest {
    @TempDir
    Path tmp;

    private static final String A = "7f0000000000-7f0000002000 rw-p 00000000 00:00 0 \n";
    private static final String SMAPS = A + "Size:                  8 kB\nRss:                   0 kB\nVmFlags: rd wr mr mw me ac \n";

    private Path proc(boolean withPagemap) throws Exception {
        Path p = Files.createDirectories(tmp.resolve("proc"));
        Files.writeString(p.resolve("maps"), A);
        Files.writeString(p.resolve("smaps"), SMAPS);
        Files.writeString(p.resolve("status"), "Name:\tfake\nVmPTE:\t       0 kB\n");
        if (withPagemap) {
            Files.write(p.resolve("pagemap"), new byte[0]);
        }
        return p;
    }

    @Test
    void aNonEmptyDirectoryIsRefusedAndLeftAlone() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("cap"));
        Files.writeString(out.resolve("maps"), "an older capture\n");
        Path proc = proc(true);
        assertThatThrownBy(() -> Capture.capture(proc, out))
                .isInstanceOf(PtlabException.class)
                .hasMessage(out + ": not empty (capture into a new or empty directory)");
        assertThat(Files.readString(out.resolve("maps"))).isEqualTo("an older capture\n");
        try (var files = Files.list(out)) {
            assertThat(files).hasSize(1);
        }
    }

    @Test
    void anEmptyDirectoryIsUsed() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("cap"));
        assertThat(Capture.capture(proc(true), out)).isEqualTo(2);
        assertThat(Files.readString(out.resolve("maps"))).isEqualTo(A);
    }

    @Test
    void aFailedCaptureLeavesAnEmptyDirectoryEmptyAndRemovesOneItMade() throws Exception {
        Path proc = proc(false); // the pagemap, read after DIR is made, is missing
        Path existing = Files.createDirectories(tmp.resolve("cap"));
        assertThatThrownBy(() -> Capture.capture(proc, existing)).isInstanceOf(PtlabException.class).hasMessageContaining("pagemap");
        try (var files = Files.list(existing)) {
            assertThat(files).isEmpty();
        }
        Path made = tmp.resolve("new");
        assertThatThrownBy(() -> Capture.capture(proc, made)).isInstanceOf(PtlabException.class);
        assertThat(made).doesNotExist();
    }
}
