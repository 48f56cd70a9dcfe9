package ptlab.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ptlab.PtlabException;

/**
 * Capture reads maps and smaps until they agree. A process that keeps remapping (the test JVM
 * itself, once in CI: smaps gave a mapping that overlapped the one printed before it) must not
 * produce a capture that analyze then rejects; a fake /proc whose files never agree is reported
 * as one clear error and writes nothing.
 */
class CaptureConsistencyTest {
    @TempDir
    Path tmp;

    private static final String A = "7f0000000000-7f0000002000 rw-p 00000000 00:00 0 \n";
    private static final String B = "7f0000010000-7f0000011000 rw-p 00000000 00:00 0 \n";

    private static String smaps(String... headers) {
        StringBuilder b = new StringBuilder();
        for (String h : headers) {
            b.append(h).append("Size:                  8 kB\nRss:                   0 kB\nVmFlags: rd wr mr mw me ac \n");
        }
        return b.toString();
    }

    private Path proc(String maps, String smaps) throws Exception {
        Path p = Files.createDirectories(tmp.resolve("proc"));
        Files.writeString(p.resolve("maps"), maps);
        Files.writeString(p.resolve("smaps"), smaps);
        Files.writeString(p.resolve("status"), "Name:\tfake\nVmPTE:\t       0 kB\n");
        Files.write(p.resolve("pagemap"), new byte[0]);
        return p;
    }

    @Test
    void agreeingFilesAreCaptured() throws Exception {
        Path out = tmp.resolve("cap");
        assertThat(Capture.capture(proc(A + B, smaps(A, B)), out)).isEqualTo(3);
        assertThat(Files.readString(out.resolve("smaps"))).isEqualTo(smaps(A, B));
    }

    @Test
    void filesThatNeverAgreeAreOneErrorAndNoCapture() throws Exception {
        Path out = tmp.resolve("cap");
        assertThatThrownBy(() -> Capture.capture(proc(A + B, smaps(A)), out))
                .isInstanceOf(PtlabException.class)
                .hasMessageContaining("maps and smaps disagree in 20 reads");
        assertThat(out.resolve("smaps")).doesNotExist();
    }

    @Test
    void anOverlapThatPersistsIsTheParsersError() throws Exception {
        String overlapping = "7f0000001000-7f0000003000 rw-p 00000000 00:00 0 \n";
        assertThatThrownBy(() -> Capture.capture(proc(A + overlapping, smaps(A, overlapping)), tmp.resolve("cap")))
                .isInstanceOf(SnapshotFormatException.class)
                .hasMessageContaining("overlaps or precedes the one before it");
    }
}
