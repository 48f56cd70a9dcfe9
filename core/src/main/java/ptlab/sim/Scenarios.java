package ptlab.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import ptlab.PtlabException;
import ptlab.TextInput;

/** Where scenarios come from: the built-in default (a resource of this package) or a file. */
public final class Scenarios {
    private Scenarios() {}

    /** The name under which the built-in scenario reports errors and appears in reports. */
    public static final String DEFAULT_NAME = "built-in default scenario";

    /** The text of the built-in scenario. */
    public static String defaultText() {
        try (InputStream in = Scenarios.class.getResourceAsStream("/ptlab/sim/default.scenario")) {
            if (in == null) {
                throw new IllegalStateException("the built-in scenario is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<Step> builtIn() {
        try {
            return ScenarioParser.parse(DEFAULT_NAME, new StringReader(defaultText()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Parses a scenario file.
     *
     * @throws PtlabException a missing or unreadable file, or {@code FILE:LINE: reason}
     */
    public static List<Step> load(Path file) {
        try (Reader r = TextInput.open(file)) {
            return ScenarioParser.parse(file.toString(), r);
        } catch (IOException e) {
            throw new PtlabException(file + ": cannot read (" + TextInput.reason(e) + ")", e);
        }
    }
}
