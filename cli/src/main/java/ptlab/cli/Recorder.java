package ptlab.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.text.ParseException;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import ptlab.PtlabException;

/**
 * A JFR recording of the run with the ptlab events enabled ({@code --jfr FILE}). The file is
 * written when the run ends well ({@link #stop}); a run that fails leaves none ({@link #discard}).
 */
/*
 * No Recording.setDestination: a recording with a destination writes it on close() too, so a
 * failed run would leave a recording of half a run (or overwrite an older one). The data is
 * dumped explicitly instead, only by stop().
 */
final class Recorder {
    private final Recording recording;
    private final Path file;

    private Recorder(Recording r, Path file) {
        this.recording = r;
        this.file = file;
    }

    static Recorder start(Path file) {
        try {
            Recording r = new Recording(Configuration.getConfiguration("default"));
            for (String e : new String[] {"ptlab.Table", "ptlab.Thp", "ptlab.KernelSync", "ptlab.TlbFlush", "ptlab.GracePeriod"}) {
                r.enable(e);
            }
            r.setToDisk(true);
            r.start();
            return new Recorder(r, file);
        } catch (IOException e) {
            throw new PtlabException("--jfr " + file + ": cannot write (" + ptlab.TextInput.reason(e) + ")", e);
        } catch (ParseException e) {
            throw new IllegalStateException("the JDK's 'default' JFR configuration does not parse", e);
        }
    }

    /** Ends the recording and writes it to the file. */
    void stop() {
        try {
            recording.stop();
            recording.dump(file);
        } catch (IOException e) {
            throw new PtlabException("--jfr " + file + ": cannot write (" + ptlab.TextInput.reason(e) + ")", e);
        } finally {
            recording.close();
        }
    }

    /** Ends the recording of a run that failed, writing nothing. */
    void discard() {
        recording.close();
    }
}
