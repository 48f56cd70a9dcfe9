package ptlab.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.text.ParseException;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import ptlab.PtlabException;

/** A JFR recording of the run with the ptlab events enabled ({@code --jfr FILE}). */
final class Recorder {
    private final Recording recording;

    private Recorder(Recording r) {
        this.recording = r;
    }

    static Recorder start(Path file) {
        try {
            Recording r = new Recording(Configuration.getConfiguration("default"));
            for (String e : new String[] {"ptlab.Table", "ptlab.Thp", "ptlab.KernelSync", "ptlab.TlbFlush", "ptlab.GracePeriod"}) {
                r.enable(e);
            }
            r.setDestination(file);
            r.start();
            return new Recorder(r);
        } catch (IOException e) {
            throw new PtlabException("--jfr " + file + ": cannot write (" + ptlab.TextInput.reason(e) + ")", e);
        } catch (ParseException e) {
            throw new IllegalStateException("the JDK's 'default' JFR configuration does not parse", e);
        }
    }

    void stop() {
        recording.stop();
        recording.close();
    }
}
